// SPEC formats.md#the-tree-artifact: staging from a tree, attacked. Real files, a real
// file:// mirror, real gzip objects. Each refusal names the object and the mirror, and
// leaves no staging directory behind; a next mirror with the right bytes is used.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { createMirrorClient } from '../../src/mirror/create-mirror-client.js';
import { keptTreeOf, planDelta, type KeptTree } from '../../src/bundle/delta-plan.js';
import { stageFromTree } from '../../src/bundle/stage-from-tree.js';
import { checkTreeEntries, objectPath, parseTreeDocument, type CheckedTree, type TreeEntry } from '../../src/bundle/tree-document.js';
import { exitCodeOf } from '../../src/errors.js';
import { rejectsWithCode, throwsWithCode } from '../helpers/assert-error.js';
import { tempDir } from '../helpers/tmp.js';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const big = 1 << 30;

function treeOf(version: string, files: Record<string, Buffer>): CheckedTree {
  const entries: TreeEntry[] = [{ path: 'lib', type: 'dir', mode: '0755' }];
  for (const [path, bytes] of Object.entries(files)) entries.push({ path, type: 'file', mode: '0644', size: bytes.length, sha256: sha256(bytes) });
  entries.push({ path: 'lib/current', type: 'symlink', target: 'a.bin' });
  return checkTreeEntries({ schema: 1, app: 'demo', version, entries }, big);
}

interface Setup { dir: string; mirror: string; mirrorUrl: string; kept: KeptTree; next: CheckedTree; changed: Buffer; unchanged: Buffer }

/** Version 1.0.0 installed with two files; 1.1.0 changes lib/b.bin. Objects of 1.1.0 on the mirror. */
function setup(dir: string): Setup {
  const unchanged = randomBytes(64 * 1024);
  const changed = randomBytes(32 * 1024);
  const keptDir = join(dir, 'versions', '1.0.0');
  mkdirSync(join(keptDir, 'lib'), { recursive: true });
  writeFileSync(join(keptDir, 'lib', 'a.bin'), unchanged);
  writeFileSync(join(keptDir, 'lib', 'b.bin'), randomBytes(32 * 1024));
  const keptTree = treeOf('1.0.0', { 'lib/a.bin': unchanged, 'lib/b.bin': readFileSync(join(keptDir, 'lib', 'b.bin')) });
  const mirror = join(dir, 'mirror');
  putObject(mirror, sha256(changed), gzipSync(changed));
  return { dir, mirror, mirrorUrl: pathToFileURL(mirror).href, kept: keptTreeOf('1.0.0', keptDir, keptTree), next: treeOf('1.1.0', { 'lib/a.bin': unchanged, 'lib/b.bin': changed }), changed, unchanged };
}

function putObject(mirror: string, sha: string, bytes: Buffer): void {
  const file = join(mirror, objectPath(sha));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, bytes);
}

function stage(s: Setup, mirrors = [s.mirrorUrl]) {
  const plan = planDelta(s.next, [s.kept], 0.5)!;
  assert.ok(plan, 'a plan');
  const stagingDir = join(s.dir, 'staging', '1.1.0');
  return { stagingDir, staged: stageFromTree({ tree: s.next, plan, stagingDir, mirrors, client: createMirrorClient() }) };
}

test('stages the tree: the unchanged file copied from the kept version, the changed one fetched', async () => {
  const tmp = tempDir();
  try {
    const s = setup(tmp.path);
    const { stagingDir, staged } = stage(s);
    const result = await staged;
    assert.equal([result.reusedFiles, result.reusedBytes, result.fetchedObjects], [1, 64 * 1024, 1]);
    assert.ok(readFileSync(join(stagingDir, 'lib/a.bin')).equals(s.unchanged));
    assert.ok(readFileSync(join(stagingDir, 'lib/b.bin')).equals(s.changed));
    assert.is(lstatSync(join(stagingDir, 'lib/a.bin')).nlink, 1, 'a copy, never a hard link');
    assert.is(lstatSync(stagingDir).mode & 0o7777, 0o755);
  } finally {
    tmp.cleanup();
  }
});

test('refuses an object whose content does not match its name (exit 3), naming object and mirror; the next mirror is used', async () => {
  const tmp = tempDir();
  try {
    const s = setup(tmp.path);
    putObject(s.mirror, sha256(s.changed), gzipSync(randomBytes(s.changed.length)));
    const { stagingDir, staged } = stage(s);
    const err = await rejectsWithCode(staged, 'hash');
    assert.is(exitCodeOf(err), 3);
    assert.match(err.message, /expected the object to hold the bytes its name says \(sha256 [0-9a-f]{64}\), it holds sha256 [0-9a-f]{64}/);
    assert.is(err.where.file, objectPath(sha256(s.changed)));
    assert.is(err.where.mirror, s.mirrorUrl);
    assert.not.ok(existsSync(stagingDir), 'nothing staged is left');

    const good = join(tmp.path, 'good-mirror');
    putObject(good, sha256(s.changed), gzipSync(s.changed));
    const again = stage(s, [s.mirrorUrl, pathToFileURL(good).href]);
    await again.staged;
    assert.ok(readFileSync(join(again.stagingDir, 'lib/b.bin')).equals(s.changed));
  } finally {
    tmp.cleanup();
  }
});

test('refuses an object that inflates past its size, without inflating the rest (exit 3)', async () => {
  const tmp = tempDir();
  try {
    const s = setup(tmp.path);
    // 24 MiB of zeros in about 24 KiB of gzip (under the compressed cap), named as a 32 KiB file.
    putObject(s.mirror, sha256(s.changed), gzipSync(Buffer.alloc(24 * 1024 * 1024)));
    const before = process.memoryUsage().rss;
    const { stagingDir, staged } = stage(s);
    const err = await rejectsWithCode(staged, 'size');
    assert.match(err.message, /expected the object to inflate to 32768 bytes, it inflates past that/);
    assert.ok(process.memoryUsage().rss - before < 64 * 1024 * 1024, 'the bomb was not inflated into memory');
    assert.not.ok(existsSync(stagingDir));
  } finally {
    tmp.cleanup();
  }
});

test('refuses a gzip object larger than its file could honestly compress to, without reading it whole', async () => {
  const tmp = tempDir();
  try {
    const s = setup(tmp.path);
    putObject(s.mirror, sha256(s.changed), Buffer.concat([gzipSync(s.changed), randomBytes(64 * 1024)]));
    const err = await rejectsWithCode(stage(s).staged, 'size');
    assert.match(err.message, /expected an object of at most \d+ bytes/);
  } finally {
    tmp.cleanup();
  }
});

test('a missing object on every mirror fails the staging (the caller falls back to the bundle)', async () => {
  const tmp = tempDir();
  try {
    const s = setup(tmp.path);
    const err = await rejectsWithCode(stage(s, [pathToFileURL(join(tmp.path, 'empty')).href]).staged, 'not-found');
    assert.is(exitCodeOf(err), 4);
  } finally {
    tmp.cleanup();
  }
});

const entry = (e: Record<string, unknown>) => e as unknown as TreeEntry;
for (const [name, bad, message] of [
  ['a directory of mode 0700 (the web UI nginx could not read)', entry({ path: 'web', type: 'dir', mode: '0700' }), /expected directory mode 0755, found 0700/],
  ['a world-writable file', entry({ path: 'f', type: 'file', mode: '0666', size: 1, sha256: 'a'.repeat(64) }), /not world-writable/],
  ['a setuid file', entry({ path: 'f', type: 'file', mode: '04755', size: 1, sha256: 'a'.repeat(64) }), /no setuid bit/],
  ['a path with ..', entry({ path: 'web/../../etc/passwd', type: 'file', mode: '0644', size: 1, sha256: 'a'.repeat(64) }), /\.\./],
  ['an absolute path', entry({ path: '/etc/passwd', type: 'file', mode: '0644', size: 1, sha256: 'a'.repeat(64) }), /absolute/],
  ['a symlink leaving the tree', entry({ path: 'out', type: 'symlink', target: '../../etc' }), /leave|outside|escap/],
] as const) {
  test(`refuses a tree entry that breaks the bundle policy: ${name} (exit 3)`, () => {
    const bytes = Buffer.from(JSON.stringify({ schema: 1, app: 'demo', version: '1.0.0', entries: [bad] }));
    const err = throwsWithCode(() => parseTreeDocument(bytes, { app: 'demo', version: '1.0.0', maxUnpacked: big }, { file: 'releases/1.0.0/tree.json' }), 'bundle-policy');
    assert.is(exitCodeOf(err), 3);
    assert.match(err.message, message);
    assert.is(err.where.file, 'releases/1.0.0/tree.json');
    assert.ok(err.where.entry, 'names the entry');
  });
}

test('refuses tree.json over 16 MiB without parsing it', () => {
  const err = throwsWithCode(() => parseTreeDocument(Buffer.alloc(16 * 1024 * 1024 + 1, 0x20), { app: 'demo', version: '1.0.0', maxUnpacked: big }), 'size');
  assert.match(err.message, /at most 16777216 bytes/);
});

test('refuses a tree of another app or version, and files past max_unpacked', () => {
  const bytes = Buffer.from(JSON.stringify({ schema: 1, app: 'other', version: '1.0.0', entries: [] }));
  throwsWithCode(() => parseTreeDocument(bytes, { app: 'demo', version: '1.0.0', maxUnpacked: big }), 'schema');
  const large = Buffer.from(JSON.stringify({ schema: 1, app: 'demo', version: '1.0.0', entries: [{ path: 'f', type: 'file', mode: '0644', size: 2048, sha256: 'a'.repeat(64) }] }));
  throwsWithCode(() => parseTreeDocument(large, { app: 'demo', version: '1.0.0', maxUnpacked: 1024 }), 'size');
});

test('no plan when the kept version shares too little', () => {
  const a = treeOf('1.0.0', { 'lib/a.bin': randomBytes(10) });
  const b = treeOf('1.1.0', { 'lib/a.bin': randomBytes(10) });
  assert.is(planDelta(b, [keptTreeOf('1.0.0', '/nowhere', a)]), undefined);
});

test.run();
