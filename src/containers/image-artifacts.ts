// SPEC formats.md#image-artifacts: `image` artifacts are podman oci-archives, or OCI layouts
// (SPEC formats.md#oci-layout-images: every blob checked again right before the load). Staging loads
// them (after their sha256 was checked while downloading) before anything is
// swapped; `tide recover` loads them again from the copy kept in the state dir,
// after checking that copy against the kept manifest once more.
import { digestFile } from '../store/file-digest.js';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { archiveOciLayout, checkOciLayout, type OciImagePlan } from './oci-layout.js';
import { TideError, isTideError } from '../errors.js';
import { releaseManifestSchema, type ImageArtifact, type ReleaseManifest } from '../documents/schemas.js';
import type { Logger } from '../log/logger.js';
import type { Layout } from '../store/layout.js';
import type { Podman } from '../system/podman.js';
import { readOciArchive } from './oci-archive.js';
import { checkImageRepositories, imageArtifactsOf } from './container-plan.js';

/** Where the error points: the artifact as the mirror tree names it. */
const placeOf = (version: string, artifact: ImageArtifact) => ({ file: `releases/${version}/${artifact.path}` });

/** One archive checked and ready to load; `loaded` when the host already has it. */
export interface PlannedImageLoad {
  file: string;
  artifact: ImageArtifact;
  imageId: string;
  loaded: boolean;
  /** SPEC formats.md#oci-layout-images: the checked layout, packed into an oci-archive just before `podman load`. */
  oci?: OciImagePlan;
}

/**
 * Plan, then apply: what loading one verified archive would do, refused before
 * anything is loaded when the archive names another ref, or when the ref already
 * names a different image here (a reused tag would change what rollback runs).
 */
export async function planImageLoad(podman: Podman, file: string, artifact: ImageArtifact): Promise<PlannedImageLoad> {
  const oci = artifact.layout === 'oci' ? await checkOciLayout(file, artifact) : undefined;
  // The layout's index was checked to carry exactly artifact.image.
  const archive = oci ? { refs: [artifact.image], imageId: oci.imageId } : await readOciArchive(file);
  const named = archive.refs.length === 0 ? 'no ref' : archive.refs.join(', ');
  if (archive.refs.length !== 1 || archive.refs[0] !== artifact.image) {
    throw new TideError('image-ref', `expected the image archive to carry ${artifact.image}, found ${named}`);
  }
  const present = await podman.imageId(artifact.image);
  if (present !== null && present !== archive.imageId) {
    throw new TideError('image-ref', `expected ${artifact.image} to be new or image ${archive.imageId.slice(0, 12)}, found it already names image ${present.slice(0, 12)} here (a release must not reuse a tag)`);
  }
  return { file, artifact, imageId: archive.imageId, loaded: present !== null, ...(oci ? { oci } : {}) };
}

/** `podman load`, then check that the ref names exactly the planned image. */
export async function applyImageLoad(podman: Podman, plan: PlannedImageLoad, logger: Logger): Promise<void> {
  const { artifact, imageId } = plan;
  if (plan.loaded) {
    logger.log('debug', { event: 'image', message: `${artifact.image} is already loaded (${imageId.slice(0, 12)})` });
    return;
  }
  const archive = plan.oci ? join(dirname(plan.file), `.load-${randomBytes(4).toString('hex')}.oci.tar`) : plan.file;
  if (plan.oci) await archiveOciLayout(plan.file, plan.oci, archive);
  const loaded = await podman.load(archive).catch((err: unknown) => {
    throw isTideError(err, 'config') ? err : new TideError('image-ref', `podman could not load the image archive: ${(err as Error).message}`);
  }).finally(() => {
    if (plan.oci) rmSync(archive, { force: true });
  });
  const after = await podman.imageId(artifact.image);
  if (after !== imageId || loaded.some((ref) => ref !== artifact.image)) {
    throw new TideError('image-ref', `expected podman load to give ${artifact.image} image ${imageId.slice(0, 12)}, found ${loaded.join(', ') || 'nothing'} (${after?.slice(0, 12) ?? 'no image'})`);
  }
  logger.log('info', { event: 'image', message: `loaded ${artifact.image} (${imageId.slice(0, 12)})` });
}

/** Error places name the artifact as the mirror tree does. */
async function locatedAt<T>(where: { file: string }, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    throw isTideError(err) ? err.at(where) : err;
  }
}

export interface ImageStageDeps {
  podman: Podman;
  layout: Layout;
  logger: Logger;
}

/** The transaction's ImageStage: load every image artifact of a staged release. */
export function createImageStage(deps: ImageStageDeps): { load(manifest: ReleaseManifest): Promise<void> } {
  return {
    async load(manifest) {
      checkImageRepositories(manifest);
      const plans: PlannedImageLoad[] = [];
      // Every archive is checked before the first one is loaded.
      for (const artifact of imageArtifactsOf(manifest)) {
        const file = join(deps.layout.artifactsDir(manifest.version), artifact.path);
        plans.push(await locatedAt(placeOf(manifest.version, artifact), () => planImageLoad(deps.podman, file, artifact)));
      }
      for (const plan of plans) {
        await locatedAt(placeOf(manifest.version, plan.artifact), () => applyImageLoad(deps.podman, plan, deps.logger));
      }
    },
  };
}

/** The manifest stage-release kept beside a version's artifacts; null when there is none. */
export function readKeptManifest(layout: Layout, version: string): ReleaseManifest | null {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(join(layout.artifactsDir(version), 'manifest.json'), 'utf8'));
  } catch {
    return null;
  }
  const parsed = releaseManifestSchema.safeParse(json);
  return parsed.success && parsed.data.version === version ? parsed.data : null;
}

/**
 * After a podman state loss: load `ref` again from `version`'s kept artifact, only
 * after its size and sha256 match the kept (signature-verified) manifest again.
 */
export async function reloadKeptImage(deps: ImageStageDeps, version: string, ref: string): Promise<void> {
  const manifest = readKeptManifest(deps.layout, version);
  const artifact = manifest && imageArtifactsOf(manifest).find((a) => a.image === ref);
  if (!artifact) {
    throw new TideError('operator-needed', `image ${ref} is missing and no kept artifact of ${version} holds it`, { file: join(deps.layout.artifactsDir(version), 'manifest.json') });
  }
  const file = join(deps.layout.artifactsDir(version), artifact.path);
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    throw new TideError('operator-needed', `image ${ref} is missing and its kept artifact is gone`, { file });
  }
  if (size !== artifact.size) throw new TideError('size', `expected the kept image artifact to be ${artifact.size} bytes, found ${size}; not loading it`, { file });
  const { sha256 } = await digestFile(file);
  if (sha256 !== artifact.sha256) throw new TideError('hash', `expected the kept image artifact to have sha256 ${artifact.sha256}, found ${sha256}; not loading it`, { file });
  deps.logger.log('warn', { event: 'image', message: `${ref} is missing: loading it again from the verified artifact of ${version}`, to: version });
  await locatedAt({ file }, async () => applyImageLoad(deps.podman, await planImageLoad(deps.podman, file, artifact), deps.logger));
}
