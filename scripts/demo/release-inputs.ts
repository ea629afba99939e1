// The demo's release inputs, kept in the repository under releases/<version>/
// (releases/README.md): the bundle's tree and the image's recipe.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// From dist/scripts/demo/ the repository is three levels up.
const releasesRoot = new URL('../../../releases/', import.meta.url).pathname;

export interface ImageRecipe {
  /** The image's ref, a new tag for every release. */
  ref: string;
  /** Files copied over busybox-static's root before `podman import`. */
  rootfs: string;
  /** The image's command, as a Containerfile's CMD. */
  cmd: string[];
}

export interface ReleaseInputs {
  version: string;
  /** What `tide release build --from` ships. */
  bundleDir: string;
  image: ImageRecipe;
}

export function releaseInputs(version: string): ReleaseInputs {
  const dir = join(releasesRoot, version);
  const bundleDir = join(dir, 'bundle');
  if (!existsSync(bundleDir)) throw new Error(`no release inputs for ${version} in ${releasesRoot}`);
  const recipe = JSON.parse(readFileSync(join(dir, 'image', 'image.json'), 'utf8')) as { ref: string; rootfs: string; cmd: string[] };
  return { version, bundleDir, image: { ref: recipe.ref, rootfs: join(dir, 'image', recipe.rootfs), cmd: recipe.cmd } };
}
