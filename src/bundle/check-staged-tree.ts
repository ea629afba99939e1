// SPEC formats.md#the-tree-artifact: a tree staged from a kept version and objects, as it is
// on disk, against tree.json: the same paths, kinds, modes, sizes and symlink targets,
// nothing more, the root 0755, and each file written from bytes that held its sha256.
// (A bundle is compared with tree.json while it is extracted: tree-agreement.ts.)
// One walk, each entry compared as it is met: nothing per entry is kept but the tree's own
// entries (memory flat in tree size, docs/benchmarks.md#delta-updates).
import { lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { join, posix } from 'node:path';
import { TideError } from '../errors.js';
import type { CheckedTree, CheckedTreeEntry } from './tree-document.js';

type Described = { kind: string; mode: number; size: number; linkpath?: string };

export const describeEntry = (e: Described): string =>
  `${e.kind} ${e.mode.toString(8)} ${e.size}${e.linkpath !== undefined ? ` -> ${e.linkpath}` : ''}`;

function found(path: string, stats: Stats): Described {
  const kind = stats.isFile() ? 'file' : stats.isDirectory() ? 'directory' : stats.isSymbolicLink() ? 'symlink' : 'other';
  return {
    kind,
    mode: kind === 'symlink' ? 0o777 : stats.mode & 0o7777,
    size: kind === 'file' ? stats.size : 0,
    ...(kind === 'symlink' ? { linkpath: readlinkSync(path) } : {}),
  };
}

export function matchesEntry(entry: CheckedTreeEntry, on: Described): boolean {
  return entry.kind === on.kind && entry.mode === on.mode && entry.size === on.size && (entry.kind !== 'symlink' || entry.linkpath === on.linkpath);
}

const disagree = (path: string, entry: Described, on: Described | undefined): TideError =>
  new TideError('bundle-policy', `expected ${path} to be ${describeEntry(entry)} as tree.json says, found ${on ? describeEntry(on) : 'nothing'}`, { entry: path });

/** Every path of the tree but its root, with the parents it only implies as 0755 directories. */
export function entriesByPath(tree: CheckedTree): Map<string, CheckedTreeEntry> {
  const wanted = new Map<string, CheckedTreeEntry>();
  for (const entry of tree.entries) if (entry.path !== '.') wanted.set(entry.path, entry);
  for (const entry of tree.entries) {
    for (let dir = posix.dirname(entry.path); dir !== '.' && !wanted.has(dir); dir = posix.dirname(dir)) {
      wanted.set(dir, { path: dir, kind: 'directory', mode: 0o755, size: 0 });
    }
  }
  return wanted;
}

/**
 * SPEC formats.md#the-tree-artifact: the staged tree, on disk, is exactly the tree: the same
 * paths, kinds, modes, sizes and symlink targets, nothing more; every file one of the
 * entries `written` from checked bytes. (A bundle is compared with tree.json as it
 * is extracted instead: tree-agreement.ts.)
 */
export async function checkStagedTree(stagingDir: string, tree: CheckedTree, written: ReadonlySet<CheckedTreeEntry>): Promise<void> {
  const rootMode = lstatSync(stagingDir).mode & 0o7777;
  if (rootMode !== 0o755) throw new TideError('bundle-policy', `expected the tree's root directory to be 0755, found ${rootMode.toString(8)}`, { entry: '.' });
  const wanted = entriesByPath(tree);
  let seen = 0;
  let extra: string | undefined;
  // Sync calls: a few microseconds each, where a round trip through the thread pool costs tens.
  const walk = (relative: string): void => {
    for (const name of readdirSync(join(stagingDir, relative))) {
      const path = relative === '' ? name : `${relative}/${name}`;
      const entry = wanted.get(path);
      if (!entry) {
        extra ??= path;
        continue;
      }
      seen += 1;
      const on = found(join(stagingDir, path), lstatSync(join(stagingDir, path)));
      if (!matchesEntry(entry, on)) throw disagree(path, entry, on);
      if (entry.kind === 'file' && !written.has(entry)) {
        throw new TideError('hash', `expected ${path} to hold sha256 ${entry.sha256} as tree.json says, it was not written so`, { entry: path });
      }
      if (entry.kind === 'directory') walk(path);
    }
  };
  walk('');
  if (seen < wanted.size) {
    for (const [path, entry] of wanted) {
      if (lstatSync(join(stagingDir, path), { throwIfNoEntry: false }) === undefined) throw disagree(path, entry, undefined);
    }
  }
  if (extra !== undefined) throw new TideError('bundle-policy', `expected only what tree.json lists, found ${extra} too`, { entry: extra });
}
