// Images for the container tests, built with `podman import` (nothing can be pulled):
// busybox httpd serving one line that names the version, or a container that exits.
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { IsolatedPodman } from '../helpers/podman.js';

/** Serves `text` at http://127.0.0.1:$PORT/ (PORT comes from the container's --env). */
export async function importWebImage(podman: IsolatedPodman, ref: string, text: string): Promise<void> {
  // httpd in the background and a TERM trap: PID 1 ignores signals it has no handler for.
  const script = `mkdir -p /www && echo '${text}' > /www/index.html && /bin/busybox httpd -f -p 127.0.0.1:$PORT -h /www & trap 'kill $!; exit 0' TERM; wait`;
  await podman.importBusyboxImage(ref, [`CMD ["/bin/busybox", "sh", "-c", ${JSON.stringify(script)}]`]);
}

/** Prints one line and exits 1 at start: a broken release of an image. */
export async function importExitingImage(podman: IsolatedPodman, ref: string, text: string): Promise<void> {
  const script = `echo '${text}: cannot start' >&2; exit 1`;
  await podman.importBusyboxImage(ref, [`CMD ["/bin/busybox", "sh", "-c", ${JSON.stringify(script)}]`]);
}

/** `podman save --format oci-archive`, as `tide release build --image` does. */
export async function saveArchive(podman: IsolatedPodman, ref: string, dir: string): Promise<string> {
  const file = join(dir, `${ref.replace(/[^a-z0-9.-]/gi, '_')}.oci.tar`);
  const saved = await podman.podman(['save', '--format', 'oci-archive', '-o', file, ref]);
  if (saved.code !== 0) throw new Error(`podman save ${ref}: ${saved.stderr}`);
  return file;
}

/** The body at http://127.0.0.1:PORT/, or what went wrong; retried briefly while a container starts. */
export async function httpText(port: number, tries = 20): Promise<string> {
  let last = '';
  for (let i = 0; i < tries; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1_000) });
      return res.status === 200 ? (await res.text()).trim() : `HTTP ${res.status}`;
    } catch (err) {
      last = `error: ${(err as Error).message}`;
    }
    await delay(100);
  }
  return last;
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

/** Local image refs (repository:tag), sorted. */
export async function listImages(podman: IsolatedPodman): Promise<string[]> {
  const listed = await podman.podman(['images', '--format', '{{.Repository}}:{{.Tag}}']);
  if (listed.code !== 0) throw new Error(`podman images: ${listed.stderr}`);
  return listed.stdout.split('\n').map((l) => l.trim()).filter((l) => l && !l.includes('<none>')).sort();
}
