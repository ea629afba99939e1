// SPEC formats.md#bundle-rules: stages a bundle: unpacks a hash-verified .tar.gz
// into a fresh staging directory, refusing it whole at the first entry that breaks a
// rule. We write every entry ourselves (staging-writer.ts), after the policy
// accepted its header: directories 0755, files created exclusively without following
// links and with their exact mode, symlinks as they are. On any failure the staging
// directory is removed entirely, once nothing is writing into it any more.
import { chmodSync, chownSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { TideError } from '../errors.js';
import { readBundleArchive, type ArchiveInput, type BundleTotals } from './read-archive.js';
import { StagingWriter } from './staging-writer.js';
import { TreeAgreement } from './tree-agreement.js';
import type { CheckedTree } from './tree-document.js';

/**
 * The archive: `archivePath`, a .tar.gz already checked against the manifest's size
 * and sha256, or `source`, its bytes while it downloads (see
 * extract-while-downloading.ts: such a tree counts only once the bytes read are
 * proven to be the signed ones).
 */
export type ExtractBundleOptions = ArchiveInput & {
  /** Must not exist; created 0755 here, removed again on any failure. */
  stagingDir: string;
  /** SPEC config.md#top-level-keys: max_unpacked. */
  maxUnpacked: number;
  /** SPEC formats.md#counts-and-sizes: 100 000 by default; injectable for tests. */
  maxEntries?: number;
  /** SPEC formats.md#modes-and-owners: installed files belong to root, or to the configured owner. */
  owner?: { uid: number; gid: number };
  signal?: AbortSignal;
  /** SPEC formats.md#the-tree-artifact: the release's verified tree, which the bundle must agree with. */
  tree?: CheckedTree;
};

export function createStagingDir(stagingDir: string, owner?: { uid: number; gid: number }): void {
  mkdirSync(dirname(stagingDir), { recursive: true, mode: 0o755 });
  try {
    mkdirSync(stagingDir, { mode: 0o755 });
  } catch (err) {
    const found = (err as NodeJS.ErrnoException).code === 'EEXIST' ? 'it already exists' : String(err);
    throw new TideError('internal', `expected to create a fresh staging directory, found ${found}`, { file: stagingDir }, { cause: err });
  }
  chmodSync(stagingDir, 0o755);
  if (owner) chownSync(stagingDir, owner.uid, owner.gid);
}

/** Failures arrive as TideErrors from the reader; anything else is ours. */
function asExtractError(err: unknown): TideError {
  if (err instanceof TideError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new TideError('internal', `bundle extraction failed: ${message}`, {}, { cause: err });
}

/**
 * SPEC formats.md#bundle-rules: unpack `archivePath` into `stagingDir`, or refuse it and leave no
 * `stagingDir` behind. Errors name the entry; callers add the mirror and file
 * with `err.at({ mirror, file })`.
 */
export async function extractBundle(options: ExtractBundleOptions): Promise<BundleTotals> {
  const { stagingDir, owner } = options;
  createStagingDir(stagingDir, owner);
  const writer = new StagingWriter(stagingDir, owner);
  const agreement = options.tree ? new TreeAgreement(options.tree, writer) : undefined;
  try {
    const totals = await readBundleArchive({ ...options, sink: agreement ?? writer });
    agreement?.finish();
    await writer.finish();
    return totals;
  } catch (err) {
    // Nothing may still be writing when the tree is removed.
    await writer.abort(err);
    rmSync(stagingDir, { recursive: true, force: true });
    throw asExtractError(err);
  }
}
