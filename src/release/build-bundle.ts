// `tide release build`: packs a release tree into a bundle that is the same bytes
// every time for the same tree and SOURCE_DATE_EPOCH — entries sorted bytewise,
// owner 0/0, one mtime, modes normalised, gzip without name or time.
// SPEC formats.md#bundle-rules: a tree that breaks them is refused before
// anything is written, and the finished
// tarball is read back through the host's own reader and policy before it takes
// its name: a bundle no host would accept never leaves the building.
import { digestingTap } from '../store/file-digest.js';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createWriteStream, fsyncSync, lstatSync, openSync, readSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { TideError } from '../errors.js';
import { sizeUnits } from '../limits.js';
import { readBundleEntries } from '../bundle/list.js';
import { encodeEntryHeader, bodyPadding, endOfArchive } from '../bundle/tar-header.js';
import { fsyncDir } from '../store/atomic.js';
import { planBundleTree, type PlannedEntry } from '../bundle/source-tree.js';
import type { CheckedTreeEntry } from '../bundle/tree-document.js';

export interface BuildBundleOptions {
  /** The release tree: becomes the version directory on every host. */
  sourceDir: string;
  /** The .tar.gz to write; it appears only once it passed the pre-ship check. */
  outFile: string;
  /** SOURCE_DATE_EPOCH: seconds since 1970, the mtime of every entry. */
  sourceDateEpoch: number;
}

export interface BuiltBundle {
  size: number;
  sha256: string;
  entries: number;
  /** SPEC formats.md#the-tree-artifact: the bundle's entries in order, each file with the sha256 of the bytes packed. */
  tree: (CheckedTreeEntry & { source: string })[];
}

// A fixed level: the same tree must give the same bytes (with the same zlib).
const GZIP_LEVEL = 9;
const READ_CHUNK = sizeUnits.MiB;
const MAX_TAR_MTIME = 0o77777777777;

/** A file's bytes, exactly the size it was planned with: a tree changing under us is refused. */
function* fileBody(entry: PlannedEntry, digests: Map<string, string>): Generator<Buffer> {
  const hash = createHash('sha256');
  const fd = openSync(entry.source, 'r');
  try {
    let remaining = entry.size;
    while (remaining > 0) {
      const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK, remaining));
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      remaining -= read;
      const bytes = read === chunk.length ? chunk : chunk.subarray(0, read);
      hash.update(bytes);
      yield bytes;
    }
    if (remaining !== 0 || readSync(fd, Buffer.alloc(1), 0, 1, null) !== 0) {
      throw new TideError('bundle-policy', `expected ${entry.size} bytes, found the file changed while the bundle was built`, { file: entry.source });
    }
    digests.set(entry.path, hash.digest('hex'));
  } finally {
    closeSync(fd);
  }
}

function* tarStream(entries: PlannedEntry[], mtime: number, digests: Map<string, string>): Generator<Buffer> {
  for (const entry of entries) {
    const path = entry.kind === 'directory' ? `${entry.path}/` : entry.path;
    yield encodeEntryHeader({ path, kind: entry.kind, mode: entry.mode, size: entry.size, linkpath: entry.linkpath, mtime });
    if (entry.kind !== 'file') continue;
    yield* fileBody(entry, digests);
    const padding = bodyPadding(entry.size);
    if (padding.length > 0) yield padding;
  }
  yield endOfArchive();
}

async function writeTarGz(entries: PlannedEntry[], target: string, mtime: number, digests: Map<string, string>): Promise<{ size: number; sha256: string }> {
  const measure = digestingTap();
  await pipeline(
    Readable.from(tarStream(entries, mtime, digests), { objectMode: false }),
    createGzip({ level: GZIP_LEVEL, chunkSize: 256 * sizeUnits.KiB }),
    measure.tap,
    createWriteStream(target, { flags: 'wx', mode: 0o644 }),
  );
  const fd = openSync(target, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return measure.digest();
}

/** Pre-ship check: the host's reader and policy must see exactly the planned entries. */
async function checkBuiltBundle(target: string, planned: PlannedEntry[]): Promise<void> {
  const listed = await readBundleEntries(target, { maxUnpacked: Number.MAX_SAFE_INTEGER });
  const describe = (e: { path: string; kind: string; mode: number; size: number; linkpath?: string }): string =>
    `${e.kind} ${e.path} ${e.mode.toString(8)} ${e.size} ${e.linkpath ?? ''}`;
  const wanted = planned.map(describe);
  const found = listed.map(describe);
  const first = wanted.findIndex((line, i) => line !== found[i]);
  if (first !== -1 || wanted.length !== found.length) {
    const at = first === -1 ? wanted.length : first;
    throw new TideError('internal', `expected the built bundle to list ${JSON.stringify(wanted[at] ?? 'nothing more')}, found ${JSON.stringify(found[at] ?? 'nothing')}`, { file: target });
  }
}

function checkInputs(options: BuildBundleOptions): void {
  const epoch = options.sourceDateEpoch;
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > MAX_TAR_MTIME) {
    throw new TideError('usage', `expected SOURCE_DATE_EPOCH as whole seconds since 1970, found ${String(epoch)}`);
  }
  const source = resolve(options.sourceDir);
  if (resolve(options.outFile).startsWith(source + sep)) {
    throw new TideError('usage', `expected the bundle to be written outside the tree it packs, found it inside ${source}`, { file: options.outFile });
  }
  let isDirectory = false;
  try {
    isDirectory = lstatSync(source).isDirectory();
  } catch {
    // reported below
  }
  if (!isDirectory) throw new TideError('usage', `expected a directory to pack, found none at ${source}`, { file: source });
}

export async function buildBundle(options: BuildBundleOptions): Promise<BuiltBundle> {
  checkInputs(options);
  const entries = planBundleTree(resolve(options.sourceDir));
  if (entries.length === 0) {
    throw new TideError('bundle-policy', 'expected a tree with something to install, found an empty directory', { file: resolve(options.sourceDir) });
  }
  const outFile = resolve(options.outFile);
  const temp = join(dirname(outFile), `.${basename(outFile)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const digests = new Map<string, string>();
    const written = await writeTarGz(entries, temp, options.sourceDateEpoch, digests);
    await checkBuiltBundle(temp, entries);
    renameSync(temp, outFile);
    fsyncDir(dirname(outFile));
    const tree = entries.map((e) => (e.kind === 'file' ? { ...e, sha256: digests.get(e.path)! } : e));
    return { ...written, entries: entries.length, tree };
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}
