// tree-agreement.ts (each bundle entry compared with tree.json while it is extracted)
// must accept and refuse exactly what the walk of the staged directory afterwards did
// (check-staged-tree.ts, which it replaced on this path). Seeded random trees, real
// tarballs (Python's tarfile): explicit and implied directories on either side, entries
// in any order the bundle rules allow, and one way of disagreeing in most cases.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { extractBundle } from '../../src/bundle/extract.js';
import { checkStagedTree } from '../../src/bundle/check-staged-tree.js';
import { checkTreeEntries, type CheckedTree, type TreeEntry } from '../../src/bundle/tree-document.js';
import { isTideError } from '../../src/errors.js';
import { tempDir } from '../helpers/tmp.js';
import { craftBundles, type CraftedEntry } from './fixtures.js';
import { seededRandom } from '../../scripts/lib/seeded-random.js';

const CASES = 48;
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

interface Node { path: string; type: 'dir' | 'file' | 'symlink'; mode?: number; data?: string; target?: string }

/** A random tree of up to three levels: directories, files of 0644 or 0755, symlinks to a sibling file. */
function randomTree(next: () => number): Node[] {
  const nodes: Node[] = [];
  const grow = (dir: string, depth: number): void => {
    const names = ['a', 'b', 'c', 'd'].filter(() => next() < 0.6);
    const files: string[] = [];
    for (const name of names) {
      const path = dir === '' ? name : `${dir}/${name}`;
      const roll = next();
      if (roll < 0.35 && depth < 3) {
        nodes.push({ path, type: 'dir', mode: 0o755 });
        grow(path, depth + 1);
      } else if (roll < 0.85 || files.length === 0) {
        nodes.push({ path, type: 'file', mode: next() < 0.7 ? 0o644 : 0o755, data: 'x'.repeat(Math.floor(next() * 12)) });
        files.push(name);
      } else {
        nodes.push({ path, type: 'symlink', target: files[Math.floor(next() * files.length)]! });
      }
    }
  };
  grow('', 0);
  if (!nodes.some((n) => n.type !== 'dir')) nodes.push({ path: 'z', type: 'file', mode: 0o644, data: 'z' });
  return nodes;
}

const asTreeEntry = (n: Node): TreeEntry =>
  n.type === 'dir' ? { path: n.path, type: 'dir', mode: '0755' }
    : n.type === 'symlink' ? { path: n.path, type: 'symlink', target: n.target! }
      : { path: n.path, type: 'file', mode: '0' + n.mode!.toString(8), size: n.data!.length, sha256: sha256(n.data!) };

const asCrafted = (n: Node): CraftedEntry =>
  n.type === 'dir' ? { name: n.path, type: 'dir', mode: 0o755 }
    : n.type === 'symlink' ? { name: n.path, type: 'symlink', linkname: n.target! }
      : { name: n.path, data: n.data!, mode: n.mode! };

/** One way the tree and the bundle may differ, applied to copies of the two lists. */
type Mutation = (tree: Node[], bundle: Node[], next: () => number) => string;

const pick = <T>(items: T[], next: () => number): T | undefined => items[Math.floor(next() * items.length)];

const mutations: Mutation[] = [
  (tree, _bundle, next) => {
    const file = pick(tree.filter((n) => n.type === 'file'), next);
    if (file) file.mode = file.mode === 0o644 ? 0o755 : 0o644;
    return `the mode of ${file?.path}`;
  },
  (tree, _bundle, next) => {
    const file = pick(tree.filter((n) => n.type === 'file'), next);
    if (file) file.data += 'y';
    return `the size of ${file?.path}`;
  },
  (tree, _bundle, next) => {
    const link = pick(tree.filter((n) => n.type === 'symlink'), next);
    if (link) link.target = `${link.target}-other`;
    return `the target of ${link?.path}`;
  },
  (tree, _bundle, next) => {
    const leaf = pick(tree.filter((n) => n.type !== 'dir'), next);
    if (leaf) tree.splice(tree.indexOf(leaf), 1);
    return `${leaf?.path} missing from the tree`;
  },
  (_tree, bundle, next) => {
    const leaf = pick(bundle.filter((n) => n.type !== 'dir'), next);
    if (leaf) bundle.splice(bundle.indexOf(leaf), 1);
    return `${leaf?.path} missing from the bundle`;
  },
  (_tree, bundle, next) => {
    const dir = pick(bundle.filter((n) => n.type === 'dir'), next);
    bundle.push({ path: dir ? `${dir.path}/extra` : 'extra', type: 'file', mode: 0o644, data: 'extra' });
    return 'an extra file in the bundle';
  },
  (tree, _bundle, next) => {
    const file = pick(tree.filter((n) => n.type === 'file'), next);
    if (file) tree.splice(tree.indexOf(file), 1, { path: file.path, type: 'dir', mode: 0o755 });
    return `${file?.path} a directory in the tree`;
  },
  (tree, _bundle, next) => {
    // A directory only the bundle implies, which the tree calls a file: refused at the implied parent.
    const nested = pick(tree.filter((n) => n.path.includes('/')), next);
    if (!nested) return 'nothing nested';
    const parent = nested.path.slice(0, nested.path.lastIndexOf('/'));
    const kept = tree.filter((n) => !n.path.startsWith(`${parent}/`) && n.path !== parent);
    tree.splice(0, tree.length, ...kept, { path: parent, type: 'file', mode: 0o644, data: 'was a directory' });
    return `${parent} a file in the tree`;
  },
];

/** Either list may leave out a directory that still has entries under it: it is implied, 0755. */
function dropSomeDirectories(nodes: Node[], next: () => number): Node[] {
  return nodes.filter((n) => n.type !== 'dir' || !nodes.some((m) => m.path.startsWith(`${n.path}/`)) || next() < 0.5);
}

/** An order the bundle rules allow: any, as long as no entry comes after a file or symlink at its parent's path. */
function shuffle(nodes: Node[], next: () => number): Node[] {
  const out = [...nodes];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

interface Case { what: string; tree: CheckedTree | undefined; bundle: CraftedEntry[] }

function makeCase(seed: number): Case {
  const next = seededRandom(seed);
  const nodes = randomTree(next);
  const tree = dropSomeDirectories(nodes.map((n) => ({ ...n })), next);
  let bundle = dropSomeDirectories(nodes.map((n) => ({ ...n })), next);
  let what = 'agreeing';
  if (next() < 0.75) what = pick(mutations, next)!(tree, bundle, next);
  bundle = shuffle(bundle, next);
  let checked: CheckedTree | undefined;
  try {
    checked = checkTreeEntries({ schema: 1, app: 'demo', version: '1.0.0', entries: tree.map(asTreeEntry) }, 2 ** 30);
  } catch {
    checked = undefined; // a mutation the bundle rules refuse in tree.json itself: not a case for either check
  }
  return { what, tree: checked, bundle: bundle.map(asCrafted) };
}

type Outcome = 'staged' | `refused ${string}`;

async function outcomeOf(run: () => Promise<void>): Promise<Outcome> {
  try {
    await run();
    return 'staged';
  } catch (err) {
    if (!isTideError(err)) throw err;
    return `refused ${err.code}`;
  }
}

test(`${CASES} random trees: the check while extracting and the walk after agree on every bundle`, async () => {
  const cases = Array.from({ length: CASES }, (_, i) => makeCase(1000 + i));
  const archives = craftBundles(cases.map((c) => ({ entries: c.bundle })));
  const tmp = tempDir('tide-agree-eq-');
  let refused = 0;
  let compared = 0;
  try {
    for (const [i, c] of cases.entries()) {
      if (!c.tree) continue;
      const archivePath = join(tmp.path, `bundle-${i}.tar.gz`);
      writeFileSync(archivePath, archives[i]!);
      const plain = join(tmp.path, `plain-${i}`);
      // The bundle alone must pass the bundle rules for the comparison to mean anything.
      const alone = await outcomeOf(async () => void (await extractBundle({ archivePath, stagingDir: plain, maxUnpacked: 2 ** 30 })));
      if (alone !== 'staged') continue;
      const tree = c.tree;
      const files = new Set(tree.entries.filter((e) => e.kind === 'file'));
      const walked = await outcomeOf(() => checkStagedTree(plain, tree, files));
      const streamed = await outcomeOf(async () => void (await extractBundle({ archivePath, stagingDir: join(tmp.path, `streamed-${i}`), maxUnpacked: 2 ** 30, tree })));
      assert.is(streamed, walked, `case ${1000 + i} (${c.what}): ${JSON.stringify(c.bundle.map((e) => e.name))}`);
      compared += 1;
      if (walked !== 'staged') refused += 1;
    }
  } finally {
    tmp.cleanup();
  }
  // The cases must exercise both answers, or the comparison proves little.
  assert.ok(compared >= CASES * 0.75, `only ${compared} of ${CASES} cases compared`);
  assert.ok(refused >= compared * 0.4 && refused <= compared * 0.9, `${refused} of ${compared} refused`);
});

test.run();
