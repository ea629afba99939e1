// Which image each [[container]] runs in a version, and the `podman run` that
// creates it. Pure: no podman, no files.
import { TideError } from '../errors.js';
import type { ContainerSpec } from '../config/schema.js';
import type { ImageArtifact, ReleaseManifest } from '../documents/schemas.js';

export function imageArtifactsOf(manifest: ReleaseManifest): ImageArtifact[] {
  return manifest.artifacts.filter((a): a is ImageArtifact => a.type === 'image');
}

/** localhost/demo-web:1.2.0 → localhost/demo-web (a registry port is not a tag). */
export function repositoryOf(ref: string): string {
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/') ? ref.slice(0, colon) : ref;
}

export const hasTag = (image: string): boolean => repositoryOf(image) !== image;

/**
 * SPEC config.md#container: the tag comes from the release's image artifact of the
 * container's `image` repository. `orTagged`: a container whose image names its own
 * tag and no artifact (never swapped) still runs that image, e.g. for recover.
 */
export function wantedRef(manifest: ReleaseManifest | null, spec: ContainerSpec, orTagged: boolean): string | null {
  const artifact = manifest && imageArtifactsOf(manifest).find((a) => repositoryOf(a.image) === spec.image);
  if (artifact) return artifact.image;
  return orTagged && hasTag(spec.image) ? spec.image : null;
}

/** Plan, then apply: two artifacts of one repository would leave a container's tag ambiguous. */
export function checkImageRepositories(manifest: ReleaseManifest): void {
  const seen = new Map<string, string>();
  for (const artifact of imageArtifactsOf(manifest)) {
    const repository = repositoryOf(artifact.image);
    const other = seen.get(repository);
    if (other !== undefined) {
      throw new TideError('image-ref', `expected one image per repository, found ${other} and ${artifact.image}`, { file: `releases/${manifest.version}/${artifact.path}` });
    }
    seen.set(repository, artifact.image);
  }
}

/** Where the old container waits, stopped, until the new version commits or rolls back. */
export const asideNameOf = (name: string): string => `${name}.tide-prev`;

/** Labels on every container tide creates: what an operator sees in `podman ps --filter`. */
export const labelApp = 'io.tide.app';
export const labelVersion = 'io.tide.version';

/** `podman run -d` arguments: --name, tide's labels, the operator's args, the image, the command. */
export function runArgsFor(spec: ContainerSpec, ref: string, app: string, version: string): string[] {
  return ['--name', spec.name, '--label', `${labelApp}=${app}`, '--label', `${labelVersion}=${version}`, ...spec.args, ref, ...spec.command];
}

/**
 * forward: the swap of an update (or of `tide rollback`), the old container kept aside.
 * back: the automatic rollback, the failed version's containers removed.
 * reconcile: no transaction (`tide recover`, boot); recreate what is missing or stopped.
 */
export type Mode = 'forward' | 'back' | 'reconcile';

export type Placement = 'adopt' | 'leave' | 'restore-aside' | 'recreate' | 'unknown-image';

interface Seen {
  running: boolean;
  imageRef: string;
}

/** What to do with one container, given it (`current`), what waits aside, and the ref it should run. */
export function choosePlacement(current: Seen | null, aside: Seen | null, ref: string | null, mode: Mode): Placement {
  // SPEC containers.md#recovering-tide-recover-and-tide-verify-at-boot: running containers that match their spec are adopted, never recreated.
  if (current?.running && (current.imageRef === ref || (ref === null && mode === 'reconcile'))) return 'adopt';
  // SPEC containers.md#swap: only containers whose repository has an artifact in the release swap.
  if (ref === null && mode === 'forward') return 'leave';
  // Going back: the container kept aside is the one to return to (also when the target has no artifact for it).
  if (aside && mode !== 'reconcile' && (aside.imageRef === ref || (ref === null && mode === 'back'))) return 'restore-aside';
  if (ref === null) return mode === 'reconcile' ? 'unknown-image' : 'leave';
  return 'recreate';
}
