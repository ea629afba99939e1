// `tide release build`: releases/<version>/ in the release tree — the bundle, the
// images, and the manifest that names them. Built in a hidden staging directory
// and renamed into place, so a failed build leaves nothing and a release, once
// there, is complete.
// SPEC formats.md#words: a release is immutable.
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TideError } from '../errors.js';
import { releaseManifestSchema, type Artifact, type ReleaseManifest } from '../documents/schemas.js';
import { fsyncDir, writeFileAtomic } from '../store/atomic.js';
import { buildBundle } from './build-bundle.js';
import { checkName, checkVersion, digestFile, inTree, isoSeconds, treePaths } from './release-tree.js';
import { planImages, saveImage, type ImageLayout, type ImageToSave } from './save-images.js';
import { publishOciLayout } from './write-image-blobs.js';
import { signDetached, type SigningKey } from './sign-files.js';
import { treeDocumentBytes } from '../bundle/tree-document.js';
import { limits } from '../limits.js';
import { writeObjects, type WrittenObjects } from './write-objects.js';
import { digestBytes } from './release-tree.js';

export interface BuildRequest {
  /** The release tree (laid out like the mirror tree). */
  tree: string;
  app: string;
  version: string;
  /** The directory that becomes the bundle's tree. */
  sourceDir: string;
  /** Podman image refs, each saved as images/<name>.oci.tar. */
  images?: readonly string[];
  /** SPEC formats.md#oci-layout-images: `oci` publishes each image as an index plus shared blobs. */
  imageLayout?: ImageLayout;
  /** How podman is run, e.g. ["podman", "--root", "/x", "--runroot", "/y"]. */
  podmanArgv?: readonly string[];
  /** Extra environment for podman (CONTAINERS_CONF in tests). */
  podmanEnv?: Record<string, string>;
  /** Seconds since 1970 stamped on every bundle entry (SOURCE_DATE_EPOCH); default 0. */
  sourceDateEpoch?: number;
  /** The manifest's `published`; default SOURCE_DATE_EPOCH when given (reproducible), else now. */
  published?: Date;
  /** When given, manifest.json.asc is written too. */
  signingKeys?: readonly SigningKey[];
  now?: Date;
}

export interface BuiltRelease {
  /** releases/<version> inside the tree. */
  dir: string;
  manifestFile: string;
  manifest: ReleaseManifest;
  /** Entries in the bundle. */
  bundleEntries: number;
  /** The signature file, when signing keys were given. */
  signatureFile?: string;
  /** SPEC formats.md#the-tree-artifact: objects written to (or already in) the tree's objects/. */
  objects?: WrittenObjects;
  /** Why the release has no tree artifact (tree.json over its cap), when it has none. */
  treeSkipped?: string;
}

export async function buildRelease(request: BuildRequest): Promise<BuiltRelease> {
  const app = checkName('app', request.app);
  const version = checkVersion(request.version);
  const images = planImages(request.images ?? [], request.imageLayout);
  checkSourceDir(request.sourceDir);
  const releasesDir = inTree(request.tree, 'releases');
  const finalDir = inTree(request.tree, treePaths.releaseDir(version));
  refuseExisting(finalDir, version);
  mkdirSync(releasesDir, { recursive: true, mode: 0o755 });
  // Hidden (publish skips dot names) and in the same directory, so the final rename is atomic.
  const staging = join(releasesDir, `.${version}.build-${randomBytes(4).toString('hex')}`);
  mkdirSync(staging, { mode: 0o755 });
  try {
    const { manifest, bundleEntries, objects, treeSkipped } = await stageRelease(staging, app, version, images, request);
    const signed = request.signingKeys !== undefined && request.signingKeys.length > 0;
    refuseExisting(finalDir, version);
    renameSync(staging, finalDir);
    fsyncDir(releasesDir);
    return {
      dir: finalDir,
      manifestFile: join(finalDir, 'manifest.json'),
      manifest,
      bundleEntries,
      ...(objects ? { objects } : {}),
      ...(treeSkipped ? { treeSkipped } : {}),
      ...(signed ? { signatureFile: join(finalDir, 'manifest.json.asc') } : {}),
    };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Everything of the release inside `staging`: bundle, images, manifest, and its signature when keys were given. */
async function stageRelease(
  staging: string,
  app: string,
  version: string,
  images: ImageToSave[],
  request: BuildRequest,
): Promise<{ manifest: ReleaseManifest; bundleEntries: number; objects?: WrittenObjects; treeSkipped?: string }> {
  const bundlePath = `${app}-${version}.tar.gz`;
  const epoch = request.sourceDateEpoch ?? 0;
  const bundle = await buildBundle({ sourceDir: request.sourceDir, outFile: join(staging, bundlePath), sourceDateEpoch: epoch });
  const artifacts: Artifact[] = [{ type: 'bundle', path: bundlePath, size: bundle.size, sha256: bundle.sha256 }];
  // SPEC formats.md#the-tree-artifact: the bundle's tree as tree.json, its files as shared objects.
  const treeBytes = treeDocumentBytes(app, version, bundle.tree);
  let objects: WrittenObjects | undefined;
  let treeSkipped: string | undefined;
  if (treeBytes.length > limits.maxTreeDocumentBytes) {
    treeSkipped = `tree.json would be ${treeBytes.length} bytes, over the ${limits.maxTreeDocumentBytes}-byte cap: hosts install this release from its bundle`;
  } else {
    objects = await writeObjects(request.tree, bundle.tree.flatMap((e) => (e.kind === 'file' ? [{ sha256: e.sha256!, size: e.size, source: e.source }] : [])));
    writeFileAtomic(join(staging, treeFile), treeBytes);
    artifacts.push({ type: 'tree', path: treeFile, ...digestBytes(treeBytes) });
  }
  if (images.length > 0) mkdirSync(join(staging, 'images'), { mode: 0o755 });
  for (const image of images) {
    const file = join(staging, image.path);
    if (image.layout === 'oci') {
      const saved = join(staging, `.oci-dir-${randomBytes(4).toString('hex')}`);
      try {
        await saveImage(request.podmanArgv ?? ['podman'], image.ref, saved, request.podmanEnv, 'oci-dir');
        artifacts.push((await publishOciLayout(request.tree, saved, image.ref, image.path, file)).artifact);
      } finally {
        rmSync(saved, { recursive: true, force: true });
      }
      continue;
    }
    await saveImage(request.podmanArgv ?? ['podman'], image.ref, file, request.podmanEnv);
    artifacts.push({ type: 'image', path: image.path, ...(await digestFile(file)), image: image.ref });
  }
  // Reproducible when SOURCE_DATE_EPOCH is set: the same input gives the same manifest bytes.
  const published = request.published ?? (request.sourceDateEpoch !== undefined ? new Date(epoch * 1000) : request.now ?? new Date());
  const manifest = checkManifest({ schema: 1, app, version, published: isoSeconds(published), artifacts });
  const manifestBytes = Buffer.from(JSON.stringify(manifest, null, 2) + '\n');
  writeFileAtomic(join(staging, 'manifest.json'), manifestBytes);
  if (request.signingKeys && request.signingKeys.length > 0) {
    writeFileAtomic(join(staging, 'manifest.json.asc'), await signDetached(manifestBytes, request.signingKeys, request.now));
  }
  return { manifest, bundleEntries: bundle.entries, ...(objects ? { objects } : {}), ...(treeSkipped ? { treeSkipped } : {}) };
}

const treeFile = 'tree.json';

function checkSourceDir(dir: string): void {
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw new TideError('usage', 'expected --from to name a directory', { file: dir });
}

function refuseExisting(dir: string, version: string): void {
  if (existsSync(dir)) {
    throw new TideError('usage', `release ${version} already exists; releases are immutable, build a new version`, { file: dir });
  }
}

/** A manifest hosts would refuse must never be written. */
function checkManifest(manifest: ReleaseManifest): ReleaseManifest {
  const parsed = releaseManifestSchema.safeParse(manifest);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new TideError('schema', `the manifest built for ${manifest.version} is invalid at ${issue.path.join('.') || '(document)'}: ${issue.message}`);
  }
  return manifest;
}
