// SPEC formats.md#bundle-rules: the publisher's side; walks a release tree and plans
// its entries in bytewise path order with normalised modes, refusing what a host
// would refuse (devices, fifos, sockets, setuid/setgid/sticky, symlinks leaving the
// tree, names that are not UTF-8 or have control characters) before a byte of the
// bundle is written. Hard-linked files are simply stored twice, as regular files.
import { lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { TideError } from '../errors.js';
import { limits } from '../limits.js';
import { createBundlePolicy, type CheckedEntry, type EntryKind } from './policy.js';

/** One entry of the bundle to be, and the file it comes from. */
export interface PlannedEntry extends CheckedEntry {
  source: string;
}

interface FoundEntry {
  path: string;
  source: string;
  stats: Stats;
  linkpath?: string;
}

const refuseSource = (file: string, message: string): TideError => new TideError('bundle-policy', message, { file });

/** Names are stored as bytes; a host reads them as UTF-8, so they must be UTF-8. */
function utf8Name(raw: Buffer, file: string, what: string): string {
  const text = raw.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(raw)) {
    throw refuseSource(file, `expected a ${what} in UTF-8, found the bytes ${JSON.stringify(raw.toString('latin1'))}`);
  }
  return text;
}

function walk(dir: string, relative: string, depth: number, found: FoundEntry[]): void {
  if (depth > limits.maxEntryDepth) {
    throw refuseSource(dir, `expected a tree at most ${limits.maxEntryDepth} directories deep, found deeper`);
  }
  for (const raw of readdirSync(dir, { encoding: 'buffer' })) {
    const name = utf8Name(raw, join(dir, raw.toString('latin1')), 'file name');
    const source = join(dir, name);
    const path = relative === '' ? name : `${relative}/${name}`;
    const stats = lstatSync(source);
    const linkpath = stats.isSymbolicLink() ? utf8Name(readlinkSync(source, { encoding: 'buffer' }), source, 'symlink target') : undefined;
    found.push({ path, source, stats, linkpath });
    if (stats.isDirectory()) walk(source, path, depth + 1, found);
  }
}

const typeNames: Record<EntryKind, string> = { file: 'File', directory: 'Directory', symlink: 'SymbolicLink' };

// SPEC formats.md#entry-types: only files, directories and symlinks, none setuid, setgid or sticky.
function kindOf(entry: FoundEntry): EntryKind {
  const { stats, source } = entry;
  const special = [[0o4000, 'setuid'], [0o2000, 'setgid'], [0o1000, 'sticky']] as const;
  for (const [bit, name] of special) {
    if (!stats.isSymbolicLink() && stats.mode & bit) throw refuseSource(source, `expected no ${name} bit, found mode ${(stats.mode & 0o7777).toString(8)}`);
  }
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'directory';
  if (stats.isSymbolicLink()) return 'symlink';
  const found = stats.isFIFO() ? 'a fifo' : stats.isSocket() ? 'a socket' : stats.isBlockDevice() || stats.isCharacterDevice() ? 'a device' : 'something else';
  throw refuseSource(source, `expected a file, directory or symlink, found ${found}`);
}

// Directories 0755; files 0755 when anyone may execute them, else 0644.
const normalisedMode = (kind: EntryKind, mode: number): number =>
  kind === 'file' && (mode & 0o111) === 0 ? 0o644 : 0o755;

const bytewise = (a: { path: string }, b: { path: string }): number =>
  Buffer.compare(Buffer.from(a.path, 'utf8'), Buffer.from(b.path, 'utf8'));

/** The bundle's entries for `sourceDir`, sorted and checked by the host's own policy. */
export function planBundleTree(sourceDir: string): PlannedEntry[] {
  const found: FoundEntry[] = [];
  walk(sourceDir, '', 1, found);
  found.sort(bytewise);
  // No size cap here: max_unpacked is each host's own setting.
  const policy = createBundlePolicy({ maxUnpacked: Number.MAX_SAFE_INTEGER });
  return found.map((entry) => {
    const kind = kindOf(entry);
    try {
      const checked = policy.check({
        path: entry.path,
        type: typeNames[kind],
        mode: normalisedMode(kind, entry.stats.mode),
        size: kind === 'file' ? entry.stats.size : 0,
        linkpath: entry.linkpath,
      });
      return { ...checked, source: entry.source };
    } catch (err) {
      throw err instanceof TideError ? err.at({ file: entry.source }) : err;
    }
  });
}
