// SPEC formats.md#the-tree-artifact: a bundle staged for a release with a tree must give the
// tree tree.json describes. Real tarballs (Python's tarfile), extracted with the tree: one
// that agrees stages; each way of disagreeing is refused (bundle-policy, the entry named,
// no staging directory left).
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { extractBundle } from '../../src/bundle/extract.js';
import { checkTreeEntries, type CheckedTree, type TreeEntry } from '../../src/bundle/tree-document.js';
import { tempDir } from '../helpers/tmp.js';
import { craftBundle, expectRefusal, type CraftedEntry } from './fixtures.js';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const file = (path: string, data: string, mode = '0644'): TreeEntry => ({ path, type: 'file', mode, size: Buffer.byteLength(data), sha256: sha256(data) });

// The bundle: explicit directories, a file under parents only implied, a symlink.
const bundleEntries: CraftedEntry[] = [
  { name: 'web', type: 'dir', mode: 0o755 },
  { name: 'web/index.html', data: '<h1>demo</h1>', mode: 0o644 },
  { name: 'web/app.js', data: 'run();', mode: 0o644 },
  { name: 'web/latest.js', type: 'symlink', linkname: 'app.js' },
  { name: 'bin/demo', data: '#!/bin/sh\n', mode: 0o755 },
  { name: 'share/doc/a/README', data: 'read me', mode: 0o644 },
];
const bundle = craftBundle({ entries: bundleEntries });

const agreeing: TreeEntry[] = [
  { path: 'web', type: 'dir', mode: '0755' },
  file('web/index.html', '<h1>demo</h1>'),
  file('web/app.js', 'run();'),
  { path: 'web/latest.js', type: 'symlink', target: 'app.js' },
  { path: 'bin', type: 'dir', mode: '0755' },
  file('bin/demo', '#!/bin/sh\n', '0755'),
  file('share/doc/a/README', 'read me'),
];

const treeOf = (entries: TreeEntry[]): CheckedTree => checkTreeEntries({ schema: 1, app: 'demo', version: '1.0.0', entries }, 2 ** 30);
const replaced = (path: string, by: TreeEntry | undefined): TreeEntry[] =>
  agreeing.flatMap((e) => (e.path === path ? (by ? [by] : []) : [e]));

test('a bundle that agrees with its tree stages: explicit and implied directories alike', async () => {
  const tmp = tempDir('tide-agree-');
  try {
    const archivePath = join(tmp.path, 'bundle.tar.gz');
    writeFileSync(archivePath, bundle);
    const stagingDir = join(tmp.path, 'staging');
    const totals = await extractBundle({ archivePath, stagingDir, maxUnpacked: 2 ** 30, tree: treeOf(agreeing) });
    assert.is(totals.entries, bundleEntries.length);
    assert.is(readFileSync(join(stagingDir, 'share/doc/a/README'), 'utf8'), 'read me');
    assert.is(readlinkSync(join(stagingDir, 'web/latest.js')), 'app.js');
    assert.is(lstatSync(join(stagingDir, 'bin/demo')).mode & 0o777, 0o755);
  } finally {
    tmp.cleanup();
  }
});

test('refuses a bundle file whose mode is not the tree\'s', async () => {
  const err = await expectRefusal(bundle, { code: 'bundle-policy', entry: 'web/app.js', tree: treeOf(replaced('web/app.js', file('web/app.js', 'run();', '0755'))) });
  assert.match(err.message, /^tree\.json disagrees with the bundle: expected web\/app\.js to be file 755 6 as tree\.json says, found file 644 6$/);
});

test('refuses a bundle file whose size is not the tree\'s', async () => {
  const err = await expectRefusal(bundle, { code: 'bundle-policy', entry: 'web/index.html', tree: treeOf(replaced('web/index.html', file('web/index.html', '<h1>demo 2</h1>'))) });
  assert.match(err.message, /expected web\/index\.html to be file 644 15 as tree\.json says, found file 644 13/);
});

test('refuses a bundle symlink whose target is not the tree\'s', async () => {
  const err = await expectRefusal(bundle, { code: 'bundle-policy', entry: 'web/latest.js', tree: treeOf(replaced('web/latest.js', { path: 'web/latest.js', type: 'symlink', target: 'index.html' })) });
  assert.match(err.message, /-> index\.html as tree\.json says, found symlink 777 0 -> app\.js/);
});

test('refuses a bundle entry of another kind than the tree\'s', async () => {
  const err = await expectRefusal(bundle, { code: 'bundle-policy', entry: 'web/app.js', tree: treeOf(replaced('web/app.js', { path: 'web/app.js', type: 'symlink', target: 'index.html' })) });
  assert.match(err.message, /expected web\/app\.js to be symlink .* found file 644 6/);
});

test('refuses a directory the bundle implies where the tree has a file', async () => {
  const err = await expectRefusal(bundle, { code: 'bundle-policy', entry: 'share/doc', tree: treeOf([...replaced('share/doc/a/README', undefined), file('share/doc', 'x')]) });
  assert.match(err.message, /expected share\/doc to be file 644 1 as tree\.json says, found directory 755 0/);
});

test('refuses a bundle entry the tree does not list', async () => {
  const err = await expectRefusal(bundle, { code: 'bundle-policy', entry: 'web/app.js', tree: treeOf(replaced('web/app.js', undefined)) });
  assert.match(err.message, /expected only what tree\.json lists, found web\/app\.js too/);
});

test('refuses a bundle that lacks an entry of the tree, once the archive ends', async () => {
  const err = await expectRefusal(bundle, { code: 'bundle-policy', entry: 'web/extra.js', tree: treeOf([...agreeing, file('web/extra.js', 'x;\n')]) });
  assert.match(err.message, /expected web\/extra\.js to be file 644 3 as tree\.json says, found nothing/);
});

test('refuses a bundle that lacks a directory of the tree', async () => {
  const err = await expectRefusal(bundle, { code: 'bundle-policy', entry: 'lib/empty', tree: treeOf([...agreeing, { path: 'lib/empty', type: 'dir', mode: '0755' }]) });
  assert.match(err.message, /expected lib\/empty to be directory 755 0 as tree\.json says, found nothing/);
});

test.run();
