// Images for the container tests only, built with `podman import` (nothing can be
// pulled): a container that exits, an image saved as an artifact, the store's images.
// The web image the demo runs too lives in scripts/lib/podman-images.ts.
import { join } from 'node:path';
import type { IsolatedPodman } from '../../scripts/lib/podman.js';

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

/** Local image refs (repository:tag), sorted. */
export async function listImages(podman: IsolatedPodman): Promise<string[]> {
  const listed = await podman.podman(['images', '--format', '{{.Repository}}:{{.Tag}}']);
  if (listed.code !== 0) throw new Error(`podman images: ${listed.stderr}`);
  return listed.stdout.split('\n').map((l) => l.trim()).filter((l) => l && !l.includes('<none>')).sort();
}
