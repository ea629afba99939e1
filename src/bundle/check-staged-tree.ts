// SPEC formats.md#the-tree-artifact: staging from the tree or from the bundle must give the
// same tree. The staged directory, as it is on disk, against tree.json: the same paths,
// kinds, modes, sizes and symlink targets, nothing more, the root 0755; with the contents
// recorded while staging, each file's sha256 too.
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import { TideError } from '../errors.js';
import type { CheckedTree, CheckedTreeEntry } from './tree-document.js';

type FoundEntry = { kind: 'file' | 'directory' | 'symlink' | 'other'; mode: number; size: number; linkpath?: string };

/** Sync calls: a few microseconds each, where a round trip through the thread pool costs tens. */
function listStaged(root: string, relative: string, found: Map<string, FoundEntry>): void {
  for (const name of readdirSync(join(root, relative))) {
    const path = relative === '' ? name : `${relative}/${name}`;
    const stats = lstatSync(join(root, path));
    const kind = stats.isFile() ? 'file' : stats.isDirectory() ? 'directory' : stats.isSymbolicLink() ? 'symlink' : 'other';
    found.set(path, {
      kind,
      mode: kind === 'symlink' ? 0o777 : stats.mode & 0o7777,
      size: kind === 'file' ? stats.size : 0,
      ...(kind === 'symlink' ? { linkpath: readlinkSync(join(root, path)) } : {}),
    });
    if (kind === 'directory') listStaged(root, path, found);
  }
}

const describe = (e: { kind: string; mode: number; size: number; linkpath?: string }): string =>
  `${e.kind} ${e.mode.toString(8)} ${e.size}${e.linkpath !== undefined ? ` -> ${e.linkpath}` : ''}`;

/**
 * SPEC formats.md#the-tree-artifact: the staged tree, on disk, is exactly the tree: the same
 * paths, kinds, modes, sizes and symlink targets, nothing more; with `contents`, each file
 * holds the sha256 recorded when it was written. Also how a bundle's staged tree is compared
 * with tree.json (without contents: see docs/delta.md).
 */
export async function checkStagedTree(stagingDir: string, tree: CheckedTree, contents?: ReadonlyMap<string, string>): Promise<void> {
  const rootMode = lstatSync(stagingDir).mode & 0o7777;
  if (rootMode !== 0o755) throw new TideError('bundle-policy', `expected the tree's root directory to be 0755, found ${rootMode.toString(8)}`, { entry: '.' });
  const found = new Map<string, FoundEntry>();
  listStaged(stagingDir, '', found);
  const wanted = new Map<string, CheckedTreeEntry>();
  for (const entry of tree.entries) if (entry.path !== '.') wanted.set(entry.path, entry);
  // Parents the tree only implies are directories 0755 too.
  for (const path of [...wanted.keys()]) {
    for (let dir = posix.dirname(path); dir !== '.'; dir = posix.dirname(dir)) {
      if (!wanted.has(dir)) wanted.set(dir, { path: dir, kind: 'directory', mode: 0o755, size: 0 });
    }
  }
  for (const [path, entry] of wanted) {
    const on = found.get(path);
    const expected = describe(entry);
    if (!on || describe(on) !== expected) {
      throw new TideError('bundle-policy', `expected ${path} to be ${expected} as tree.json says, found ${on ? describe(on) : 'nothing'}`, { entry: path });
    }
    if (contents && entry.kind === 'file' && contents.get(path) !== entry.sha256) {
      throw new TideError('hash', `expected ${path} to hold sha256 ${entry.sha256} as tree.json says, it was not written so`, { entry: path });
    }
  }
  for (const path of found.keys()) {
    if (!wanted.has(path)) throw new TideError('bundle-policy', `expected only what tree.json lists, found ${path} too`, { entry: path });
  }
}

