// SPEC formats.md#oci-layout-images, the release side: an image saved by `podman save
// --format oci-dir` becomes its index.json (the artifact) and its blobs at objects/sha256/<hex>
// of the release tree, shared by every release. The saved layout is checked in full first
// (the index names the image's ref, every blob holds its digest); a blob already in the tree
// is checked and kept, a damaged one replaced. Each blob appears under its name only complete
// and fsynced (temp, fsync, rename, fsync-dir).
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { TideError } from '../errors.js';
import { fsyncDir } from '../store/atomic.js';
import type { ImageArtifact } from '../documents/schemas.js';
import { blobFile, blobsOf, checkOciLayout, fileHoldsBlob, type OciBlob } from '../containers/oci-layout.js';
import { digestFile, inTree } from './release-tree.js';

/** objects/sha256/<hex>: where a blob lives on a mirror. */
export const blobObjectPath = (blob: OciBlob): string => `objects/sha256/${blob.hex}`;

export interface WrittenBlobs {
  written: number;
  kept: number;
}

async function fsyncFile(file: string): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeBlob(source: string, file: string, blob: OciBlob): Promise<void> {
  mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
  const temp = join(dirname(file), `.${blob.hex}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    copyFileSync(source, temp);
    if (!(await fileHoldsBlob(temp, blob))) throw new TideError('hash', `expected the saved blob sha256:${blob.hex} to keep its bytes, found it changed while the release was built`, { file: source });
    await fsyncFile(temp);
    renameSync(temp, file);
    fsyncDir(dirname(file));
  } finally {
    rmSync(temp, { force: true });
  }
}

/**
 * The oci-dir `savedDir` of `ref` as an image artifact at `path`: index.json copied to
 * `indexDest`, every blob written to the tree's objects/sha256/.
 */
export async function publishOciLayout(tree: string, savedDir: string, ref: string, path: string, indexDest: string): Promise<{ artifact: ImageArtifact; blobs: WrittenBlobs }> {
  const savedIndex = join(savedDir, 'index.json');
  const artifact: ImageArtifact = { type: 'image', path, ...(await digestFile(savedIndex)), image: ref, layout: 'oci' };
  const plan = await checkOciLayout(savedIndex, artifact);
  const blobs: WrittenBlobs = { written: 0, kept: 0 };
  for (const blob of blobsOf(plan)) {
    const file = inTree(tree, blobObjectPath(blob));
    if (await fileHoldsBlob(file, blob)) {
      blobs.kept += 1;
      continue;
    }
    await writeBlob(blobFile(savedDir, blob), file, blob);
    blobs.written += 1;
  }
  mkdirSync(dirname(indexDest), { recursive: true, mode: 0o755 });
  copyFileSync(savedIndex, indexDest);
  await fsyncFile(indexDest);
  return { artifact, blobs };
}
