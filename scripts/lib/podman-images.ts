// The web image the demo and the container tests run, built with `podman import`
// (nothing can be pulled), and what `podman ps -a` shows of a store.
import type { IsolatedPodman } from './podman.js';

/** Serves `text` at http://127.0.0.1:$PORT/ (PORT comes from the container's --env). */
export async function importWebImage(podman: IsolatedPodman, ref: string, text: string): Promise<void> {
  // httpd in the background and a TERM trap: PID 1 ignores signals it has no handler for.
  const script = `mkdir -p /www && echo '${text}' > /www/index.html && /bin/busybox httpd -f -p 127.0.0.1:$PORT -h /www & trap 'kill $!; exit 0' TERM; wait`;
  await podman.importBusyboxImage(ref, [`CMD ["/bin/busybox", "sh", "-c", ${JSON.stringify(script)}]`]);
}

export interface ListedContainer {
  name: string;
  image: string;
  state: string;
  id: string;
}

/** `podman ps -a`: every container of the store, with its image ref and state. */
export async function listContainers(podman: IsolatedPodman): Promise<ListedContainer[]> {
  const listed = await podman.podman(['ps', '-a', '--format', 'json']);
  if (listed.code !== 0) throw new Error(`podman ps: ${listed.stderr}`);
  const rows = JSON.parse(listed.stdout || '[]') as { Names: string[]; Image: string; State: string; Id: string }[];
  return rows.map((r) => ({ name: r.Names[0]!, image: r.Image, state: r.State, id: r.Id })).sort((a, b) => a.name.localeCompare(b.name));
}
