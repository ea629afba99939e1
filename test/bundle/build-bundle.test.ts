// test-needs: network
// The publisher's builder: reproducible bytes, sorted entries, owner 0/0, normalised
// modes, refusals before anything is written, and a round trip through the host.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync,
  symlinkSync, utimesSync, writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { extractBundle } from '../../src/bundle/extract.js';
import { buildBundle } from '../../src/release/build-bundle.js';
import { rejectsWithCode } from '../helpers/assert-error.js';
import { tempDir } from '../helpers/tmp.js';

const epoch = 1_760_000_000;
const longName = 'n'.repeat(120) + '.txt';

/** A small release tree, with the modes and links a real build leaves behind. */
function makeTree(root: string): void {
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'web', 'assets'), { recursive: true });
  mkdirSync(join(root, 'empty'));
  writeFileSync(join(root, 'bin', 'demo'), '#!/bin/sh\necho demo\n', { mode: 0o700 });
  writeFileSync(join(root, 'web', 'index.html'), '<h1>demo</h1>\n', { mode: 0o600 });
  writeFileSync(join(root, 'web', 'assets', 'app.js'), 'console.log(1)\n'.repeat(500));
  writeFileSync(join(root, 'web', longName), 'long\n');
  symlinkSync('../web/index.html', join(root, 'bin', 'index'));
  symlinkSync('../' + 'l'.repeat(150), join(root, 'web', 'long-link'));
  linkSync(join(root, 'bin', 'demo'), join(root, 'bin', 'demo-again'));
  chmodSync(join(root, 'web'), 0o700);
}

/** Every path in a tree with its kind, mode, contents' hash or link target. */
function describeTree(root: string, relative = ''): string[] {
  return readdirSync(join(root, relative)).sort().flatMap((name) => {
    const path = relative === '' ? name : `${relative}/${name}`;
    const stats = lstatSync(join(root, path));
    const mode = (stats.mode & 0o7777).toString(8);
    if (stats.isSymbolicLink()) return [`link ${path} -> ${readlinkSync(join(root, path))}`];
    if (stats.isDirectory()) return [`dir ${path} ${mode}`, ...describeTree(root, path)];
    const hash = createHash('sha256').update(readFileSync(join(root, path))).digest('hex').slice(0, 12);
    return [`file ${path} ${mode} ${hash}`];
  });
}

test('two builds of the same tree are byte-identical, whatever the mtimes and umask', async () => {
  const tmp = tempDir('tide-build-');
  const umask = process.umask();
  try {
    makeTree(join(tmp.path, 'a'));
    const first = await buildBundle({ sourceDir: join(tmp.path, 'a'), outFile: join(tmp.path, 'first.tar.gz'), sourceDateEpoch: epoch });
    utimesSync(join(tmp.path, 'a', 'web', 'index.html'), 12345, 67890);
    utimesSync(join(tmp.path, 'a', 'bin'), 1, 2);
    chmodSync(join(tmp.path, 'a', 'web', 'index.html'), 0o640);
    chmodSync(join(tmp.path, 'a', 'bin', 'demo'), 0o750);
    const second = await buildBundle({ sourceDir: join(tmp.path, 'a'), outFile: join(tmp.path, 'second.tar.gz'), sourceDateEpoch: epoch });
    process.umask(0o077);
    makeTree(join(tmp.path, 'b'));
    process.umask(umask);
    const third = await buildBundle({ sourceDir: join(tmp.path, 'b'), outFile: join(tmp.path, 'third.tar.gz'), sourceDateEpoch: epoch });
    const bytes = (name: string): Buffer => readFileSync(join(tmp.path, name));
    assert.ok(bytes('first.tar.gz').equals(bytes('second.tar.gz')), 'touched mtimes and modes change nothing');
    assert.ok(bytes('first.tar.gz').equals(bytes('third.tar.gz')), 'another umask changes nothing');
    // The tree names each file's source, which differs between a/ and b/; the rest is the same.
    const sameBuild = (b: typeof first) => ({ ...b, tree: b.tree.map(({ source: _source, ...entry }) => entry) });
    assert.equal(second, first);
    assert.equal(sameBuild(third), sameBuild(first));
    assert.is(first.sha256, createHash('sha256').update(bytes('first.tar.gz')).digest('hex'));
    assert.is(first.size, bytes('first.tar.gz').length);
    assert.is(first.entries, 11);
    const other = await buildBundle({ sourceDir: join(tmp.path, 'a'), outFile: join(tmp.path, 'other.tar.gz'), sourceDateEpoch: epoch + 1 });
    assert.is.not(other.sha256, first.sha256, 'SOURCE_DATE_EPOCH is in the bytes');
  } finally {
    process.umask(umask);
    tmp.cleanup();
  }
});

test('writes a gzip header with no name and no time', async () => {
  const tmp = tempDir('tide-build-');
  try {
    makeTree(join(tmp.path, 'tree'));
    const outFile = join(tmp.path, 'out.tar.gz');
    await buildBundle({ sourceDir: join(tmp.path, 'tree'), outFile, sourceDateEpoch: epoch });
    const header = readFileSync(outFile).subarray(0, 10);
    assert.equal([...header.subarray(0, 4)], [0x1f, 0x8b, 8, 0], 'deflate, no flags: no file name, no comment');
    assert.equal([...header.subarray(4, 8)], [0, 0, 0, 0], 'no mtime');
    assert.is(header[9], 3, 'OS: Unix');
  } finally {
    tmp.cleanup();
  }
});

test('lists sorted bytewise with GNU tar, owned by 0/0, modes normalised', async () => {
  const tmp = tempDir('tide-build-');
  try {
    const tree = join(tmp.path, 'tree');
    makeTree(tree);
    for (const name of ['B', 'a', 'a-b', 'z', '\u00e9']) writeFileSync(join(tree, name), name, { mode: 0o664 });
    mkdirSync(join(tree, 'a.d'), { mode: 0o750 });
    writeFileSync(join(tree, 'a.d', 'x'), 'x');
    const outFile = join(tmp.path, 'out.tar.gz');
    await buildBundle({ sourceDir: tree, outFile, sourceDateEpoch: epoch });
    const lines = execFileSync('tar', ['--numeric-owner', '--utc', '--quoting-style=literal', '-tvzf', outFile], { encoding: 'utf8' }).trim().split('\n');
    const rows = lines.map((line) => line.split(/\s+/));
    const paths = rows.map((row) => row[5]);
    assert.equal(paths, [
      'B', 'a', 'a-b', 'a.d/', 'a.d/x', 'bin/', 'bin/demo', 'bin/demo-again', 'bin/index', 'empty/', 'web/',
      'web/assets/', 'web/assets/app.js', 'web/index.html', 'web/long-link', `web/${longName}`, 'z', '\u00e9',
    ]);
    for (const row of rows) {
      assert.is(row[1], '0/0', row.join(' '));
      assert.is(`${row[3]} ${row[4]}`, '2025-10-09 08:53', 'mtime is SOURCE_DATE_EPOCH');
      const expected = row[5]!.endsWith('/') ? 'drwxr-xr-x' : row[0]!.startsWith('l') ? 'lrwxrwxrwx' : /demo/.test(row[5]!) ? '-rwxr-xr-x' : '-rw-r--r--';
      assert.is(row[0], expected, row.join(' '));
    }
    assert.ok(lines.some((line) => line.endsWith(`web/long-link -> ../${'l'.repeat(150)}`)), 'long link target via pax');
  } finally {
    tmp.cleanup();
  }
});

test('round trip: buildBundle then extractBundle gives back the tree, and so does GNU tar', async () => {
  const tmp = tempDir('tide-build-');
  try {
    const tree = join(tmp.path, 'tree');
    makeTree(tree);
    chmodSync(join(tree, 'web'), 0o755);
    chmodSync(join(tree, 'web', 'index.html'), 0o644);
    chmodSync(join(tree, 'bin', 'demo'), 0o755);
    const outFile = join(tmp.path, 'out.tar.gz');
    const built = await buildBundle({ sourceDir: tree, outFile, sourceDateEpoch: epoch });
    const stagingDir = join(tmp.path, 'staging');
    const staged = await extractBundle({ archivePath: outFile, stagingDir, maxUnpacked: 1 << 20 });
    assert.is(staged.entries, built.entries);
    assert.equal(describeTree(stagingDir), describeTree(tree));
    const gnu = join(tmp.path, 'gnu');
    mkdirSync(gnu);
    execFileSync('tar', ['-xzf', outFile, '-C', gnu]);
    assert.equal(describeTree(gnu), describeTree(tree));
  } finally {
    tmp.cleanup();
  }
});

/** Builds from a tree spoiled by `spoil`: refused, naming the file, and nothing written. */
async function expectBuildRefusal(spoil: (tree: string) => string | Promise<string>, message: RegExp): Promise<void> {
  const tmp = tempDir('tide-build-');
  try {
    const tree = join(tmp.path, 'tree');
    makeTree(tree);
    const culprit = await spoil(tree);
    const out = join(tmp.path, 'out');
    mkdirSync(out);
    const err = await rejectsWithCode(buildBundle({ sourceDir: tree, outFile: join(out, 'bundle.tar.gz'), sourceDateEpoch: epoch }), 'bundle-policy');
    assert.is(err.where.file, culprit);
    assert.match(err.message, message);
    assert.equal(readdirSync(out), [], 'no bundle and no temp file');
  } finally {
    tmp.cleanup();
  }
}

test('refuses a device, a fifo and a socket without writing the bundle', async () => {
  await expectBuildRefusal((tree) => {
    execFileSync('mknod', [join(tree, 'web', 'null'), 'c', '1', '3']);
    return join(tree, 'web', 'null');
  }, /found a device/);
  await expectBuildRefusal((tree) => {
    execFileSync('mkfifo', [join(tree, 'web', 'pipe')]);
    return join(tree, 'web', 'pipe');
  }, /found a fifo/);
  const server = createServer();
  try {
    await expectBuildRefusal(async (tree) => {
      const path = join(tree, 'web', 'sock');
      await new Promise<void>((resolve) => server.listen(path, resolve));
      return path;
    }, /found a socket/);
  } finally {
    server.close();
  }
});

test('refuses setuid, setgid and sticky bits without writing the bundle', async () => {
  await expectBuildRefusal((tree) => {
    chmodSync(join(tree, 'bin', 'demo'), 0o4755);
    return join(tree, 'bin', 'demo');
  }, /setuid/);
  await expectBuildRefusal((tree) => {
    chmodSync(join(tree, 'web'), 0o2755);
    return join(tree, 'web');
  }, /setgid/);
  await expectBuildRefusal((tree) => {
    chmodSync(join(tree, 'empty'), 0o1777);
    return join(tree, 'empty');
  }, /sticky/);
});

test('refuses symlinks that leave the tree without writing the bundle', async () => {
  await expectBuildRefusal((tree) => {
    symlinkSync('../../etc', join(tree, 'web', 'etc'));
    return join(tree, 'web', 'etc');
  }, /leaves it/);
  await expectBuildRefusal((tree) => {
    symlinkSync('/etc/passwd', join(tree, 'web', 'passwd'));
    return join(tree, 'web', 'passwd');
  }, /absolute symlink target/);
});

test('refuses names that are not UTF-8 or hold control characters', async () => {
  await expectBuildRefusal((tree) => {
    writeFileSync(Buffer.from(join(tree, 'web', 'caf\xe9'), 'latin1'), 'x');
    return join(tree, 'web', 'caf\xe9');
  }, /UTF-8/);
  await expectBuildRefusal((tree) => {
    writeFileSync(join(tree, 'web', 'new\nline'), 'x');
    return join(tree, 'web', 'new\nline');
  }, /control characters/);
});

test('refuses a bundle written into its own tree, a bad SOURCE_DATE_EPOCH, a missing or empty tree', async () => {
  const tmp = tempDir('tide-build-');
  try {
    const tree = join(tmp.path, 'tree');
    makeTree(tree);
    await rejectsWithCode(buildBundle({ sourceDir: tree, outFile: join(tree, 'web', 'b.tar.gz'), sourceDateEpoch: epoch }), 'usage');
    for (const bad of [-1, 1.5, Number.NaN]) {
      await rejectsWithCode(buildBundle({ sourceDir: tree, outFile: join(tmp.path, 'b.tar.gz'), sourceDateEpoch: bad }), 'usage');
    }
    await rejectsWithCode(buildBundle({ sourceDir: join(tmp.path, 'missing'), outFile: join(tmp.path, 'b.tar.gz'), sourceDateEpoch: epoch }), 'usage');
    mkdirSync(join(tmp.path, 'empty'));
    await rejectsWithCode(buildBundle({ sourceDir: join(tmp.path, 'empty'), outFile: join(tmp.path, 'b.tar.gz'), sourceDateEpoch: epoch }), 'bundle-policy');
    assert.not.ok(existsSync(join(tmp.path, 'b.tar.gz')));
  } finally {
    tmp.cleanup();
  }
});

test.run();
