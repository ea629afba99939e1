// SPEC formats.md#oci-layout-images, the host's side: an image artifact in the `oci` layout is
// its verified index.json plus the blobs it names, stored as an OCI layout directory beside it
// (oci-layout, index.json, blobs/sha256/*) under the version's artifacts. A blob a kept version
// already holds is copied from there (its digest checked on the copy: a damaged one is never
// reused); any other is fetched from objects/sha256/<hex>, one mirror after another, never past
// its descriptor's size, its digest checked. The image is loaded only later, after the whole
// layout is checked again (image-artifacts.ts).
import { randomBytes } from 'node:crypto';
import { constants, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ImageArtifact, ReleaseManifest } from '../documents/schemas.js';
import type { Logger } from '../log/logger.js';
import { downloadFromFirstGood } from '../mirror/fetch-from-mirrors.js';
import type { MirrorClient } from '../mirror/mirror-client.js';
import { fsyncDir, writeFileAtomic } from '../store/atomic.js';
import type { Layout } from '../store/layout.js';
import { isTideError } from '../errors.js';
import type { ArtifactTransfer } from './stage-delta.js';
import { blobFile, blobsOf, fileHoldsBlob, parseOciIndex, parseOciManifest, type OciBlob } from '../containers/oci-layout.js';
import { imageArtifactsOf } from '../containers/container-plan.js';
import { readKeptManifest } from '../containers/image-artifacts.js';

export interface OciStageDeps {
  layout: Layout;
  client: MirrorClient;
  logger: Logger;
}

/** A kept version's layout directory that may hold blobs to reuse. */
interface KeptLayout {
  version: string;
  dir: string;
}

/** The oci-layout image artifacts of the kept versions, the current one first (the caller's order). */
function keptLayouts(layout: Layout, versions: readonly string[]): KeptLayout[] {
  const found: KeptLayout[] = [];
  for (const version of versions) {
    const manifest = readKeptManifest(layout, version);
    for (const artifact of manifest ? imageArtifactsOf(manifest) : []) {
      if (artifact.layout === 'oci') found.push({ version, dir: dirname(join(layout.artifactsDir(version), artifact.path)) });
    }
  }
  return found;
}

async function fsyncFile(file: string): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Copy (reflinked where the filesystem can) a kept blob to `dest`, only when the copy holds the blob's bytes. */
async function reuseKeptBlob(kept: readonly KeptLayout[], blob: OciBlob, dest: string, logger: Logger, to: string): Promise<string | undefined> {
  for (const { version, dir } of kept) {
    const source = blobFile(dir, blob);
    if (!existsSync(source)) continue;
    const temp = `${dest}.reuse-${randomBytes(4).toString('hex')}`;
    try {
      copyFileSync(source, temp, constants.COPYFILE_FICLONE);
      // Checked on the copy, so what is checked is what is kept.
      if (await fileHoldsBlob(temp, blob)) {
        await fsyncFile(temp);
        renameSync(temp, dest);
        return version;
      }
      logger.log('warn', { event: 'stage', message: `not reusing blob sha256:${blob.hex} of ${version}: its bytes no longer match its digest; fetching it`, to });
    } finally {
      rmSync(temp, { force: true });
    }
  }
  return undefined;
}

/**
 * Every blob of `artifact` (its index.json already downloaded and verified at `indexFile`) into
 * the layout directory beside it. Throws the mirrors' refusal when a blob cannot be had with
 * its digest and size; the caller then forgets the version's artifacts.
 */
export async function stageOciImage(
  deps: OciStageDeps,
  manifest: ReleaseManifest,
  artifact: ImageArtifact,
  mirrors: readonly string[],
  keptVersions: readonly string[],
): Promise<ArtifactTransfer> {
  const indexFile = join(deps.layout.artifactsDir(manifest.version), artifact.path);
  const dir = dirname(indexFile);
  const path = `releases/${manifest.version}/${artifact.path}`;
  const kept = keptLayouts(deps.layout, keptVersions.filter((v) => v !== manifest.version));
  const counts = { fetchedBytes: 0, reusedBytes: 0, from: undefined as string | undefined };
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true, mode: 0o755 });
  const stage = async (blob: OciBlob): Promise<void> => {
    const dest = blobFile(dir, blob);
    if (await fileHoldsBlob(dest, blob)) return; // staged by an earlier, interrupted run
    const from = await reuseKeptBlob(kept, blob, dest, deps.logger, manifest.version);
    if (from) {
      counts.reusedBytes += blob.size;
      counts.from ??= from;
      return;
    }
    await downloadFromFirstGood(mirrors, `objects/sha256/${blob.hex}`, { size: blob.size, sha256: blob.hex }, dest, deps.client, deps.logger);
    counts.fetchedBytes += blob.size;
  };
  try {
    const manifestBlob = parseOciIndex(readFileSync(indexFile), artifact);
    await stage(manifestBlob);
    const plan = parseOciManifest(readFileSync(blobFile(dir, manifestBlob)), manifestBlob);
    for (const blob of blobsOf(plan).slice(1)) await stage(blob);
  } catch (err) {
    throw isTideError(err) && !err.where.file ? err.at({ file: path }) : err;
  }
  fsyncDir(join(dir, 'blobs', 'sha256'));
  writeFileAtomic(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}\n');
  const how = counts.reusedBytes > 0 ? 'delta' : 'full';
  return { path, type: 'image', how, fetchedBytes: counts.fetchedBytes, reusedBytes: counts.reusedBytes, ...(counts.from ? { from: counts.from } : {}) };
}
