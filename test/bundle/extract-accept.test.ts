// Bundles that follow the rules are staged exactly: modes, owners, symlinks,
// implicit parents, bytes — whatever the umask and whatever the archive claims.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { extractBundle } from '../../src/bundle/extract.js';
import { readBundleEntries } from '../../src/bundle/list.js';
import { rejectsWithCode } from '../helpers/assert-error.js';
import { tempDir } from '../helpers/tmp.js';
import { craftBundle } from './fixtures.js';

const MiB = 1024 * 1024;
const modeOf = (path: string): number => lstatSync(path).mode & 0o7777;

test('accepts a bundle made by GNU tar with owner 0 and normalised modes', async () => {
  const tmp = tempDir('tide-bundle-');
  try {
    const tree = join(tmp.path, 'tree');
    mkdirSync(join(tree, 'bin'), { recursive: true });
    mkdirSync(join(tree, 'web', 'assets'), { recursive: true });
    writeFileSync(join(tree, 'bin', 'demo'), '#!/bin/sh\necho demo\n', { mode: 0o700 });
    writeFileSync(join(tree, 'web', 'index.html'), '<h1>demo</h1>', { mode: 0o600 });
    symlinkSync('../web/index.html', join(tree, 'bin', 'index'));
    chmodSync(join(tree, 'web'), 0o700);
    const archivePath = join(tmp.path, 'gnu.tar.gz');
    execFileSync('tar', ['--owner=0', '--group=0', '--mode=u=rwX,go=rX', '--sort=name', '-czf', archivePath, '-C', tree, '.']);
    const stagingDir = join(tmp.path, 'staging');
    const result = await extractBundle({ archivePath, stagingDir, maxUnpacked: MiB });
    assert.equal(result, { entries: 7, unpackedBytes: 33 });
    assert.is(modeOf(stagingDir), 0o755);
    assert.is(modeOf(join(stagingDir, 'web')), 0o755);
    assert.is(modeOf(join(stagingDir, 'bin', 'demo')), 0o755);
    assert.is(modeOf(join(stagingDir, 'web', 'index.html')), 0o644);
    assert.is(readFileSync(join(stagingDir, 'web', 'index.html'), 'utf8'), '<h1>demo</h1>');
    assert.is(readlinkSync(join(stagingDir, 'bin', 'index')), '../web/index.html');
    assert.is(readFileSync(join(stagingDir, 'bin', 'index'), 'utf8'), '<h1>demo</h1>');
    assert.ok(lstatSync(join(stagingDir, 'web', 'assets')).isDirectory());
  } finally {
    tmp.cleanup();
  }
});

test('refuses a GNU tar bundle whose root is 0700', async () => {
  const tmp = tempDir('tide-bundle-');
  try {
    const tree = join(tmp.path, 'tree');
    mkdirSync(tree, { mode: 0o700 });
    chmodSync(tree, 0o700);
    writeFileSync(join(tree, 'index.html'), 'x');
    const archivePath = join(tmp.path, 'gnu.tar.gz');
    execFileSync('tar', ['--owner=0', '--group=0', '-czf', archivePath, '-C', tree, '.']);
    const stagingDir = join(tmp.path, 'staging');
    const err = await rejectsWithCode(extractBundle({ archivePath, stagingDir, maxUnpacked: MiB }), 'bundle-policy');
    assert.is(err.where.entry, './');
    assert.match(err.message, /found 0700/);
    assert.not.ok(existsSync(stagingDir));
  } finally {
    tmp.cleanup();
  }
});

test('creates implicit parents 0755 and exact file modes under a strict umask', async () => {
  const tmp = tempDir('tide-bundle-');
  const umask = process.umask(0o077);
  try {
    const archivePath = join(tmp.path, 'bundle.tar.gz');
    writeFileSync(archivePath, craftBundle({ entries: [
      { name: 'deep/er/still/run', mode: 0o755, data: 'x' },
      { name: 'deep/er/page', mode: 0o644, data: 'y' },
      { name: 'deep', type: 'dir' }, // an explicit directory after the files that implied it
    ] }));
    const stagingDir = join(tmp.path, 'staging');
    await extractBundle({ archivePath, stagingDir, maxUnpacked: MiB });
    for (const dir of ['', 'deep', 'deep/er', 'deep/er/still']) assert.is(modeOf(join(stagingDir, dir)), 0o755, dir);
    assert.is(modeOf(join(stagingDir, 'deep/er/still/run')), 0o755);
    assert.is(modeOf(join(stagingDir, 'deep/er/page')), 0o644);
  } finally {
    process.umask(umask);
    tmp.cleanup();
  }
});

test('ignores the owners in the archive', async () => {
  const tmp = tempDir('tide-bundle-');
  try {
    const archivePath = join(tmp.path, 'bundle.tar.gz');
    writeFileSync(archivePath, craftBundle({ entries: [{ name: 'web', type: 'dir', uid: 1234, gid: 4321 }, { name: 'web/a', data: 'x', uid: 1234, gid: 4321 }] }));
    const stagingDir = join(tmp.path, 'staging');
    await extractBundle({ archivePath, stagingDir, maxUnpacked: MiB });
    for (const path of ['web', 'web/a']) {
      const stats = lstatSync(join(stagingDir, path));
      assert.is(stats.uid, process.getuid!());
      assert.is(stats.gid, process.getgid!());
    }
  } finally {
    tmp.cleanup();
  }
});

test('gives every entry to the configured owner', async () => {
  const tmp = tempDir('tide-bundle-');
  try {
    const archivePath = join(tmp.path, 'bundle.tar.gz');
    writeFileSync(archivePath, craftBundle({ entries: [{ name: 'web/a', data: 'x' }, { name: 'web/l', type: 'symlink', linkname: 'a' }] }));
    const stagingDir = join(tmp.path, 'staging');
    const owner = { uid: 65534, gid: 65534 };
    await extractBundle({ archivePath, stagingDir, maxUnpacked: MiB, owner });
    for (const path of ['', 'web', 'web/a', 'web/l']) {
      const stats = lstatSync(join(stagingDir, path));
      assert.equal([stats.uid, stats.gid], [owner.uid, owner.gid], path);
    }
    assert.is(modeOf(join(stagingDir, 'web/a')), 0o644);
  } finally {
    tmp.cleanup();
  }
});

test('streams large files byte for byte across chunk boundaries', async () => {
  const tmp = tempDir('tide-bundle-');
  try {
    const tree = join(tmp.path, 'tree');
    mkdirSync(tree, { mode: 0o755 });
    chmodSync(tree, 0o755);
    const payloads = [randomBytes(3 * MiB + 17), randomBytes(511), Buffer.alloc(0), randomBytes(256 * 1024)];
    payloads.forEach((bytes, i) => writeFileSync(join(tree, `f${i}`), bytes, { mode: 0o644 }));
    const archivePath = join(tmp.path, 'gnu.tar.gz');
    execFileSync('tar', ['--owner=0', '--group=0', '--mode=go-w', '-czf', archivePath, '-C', tree, 'f0', 'f1', 'f2', 'f3']);
    const stagingDir = join(tmp.path, 'staging');
    const result = await extractBundle({ archivePath, stagingDir, maxUnpacked: 10 * MiB });
    assert.is(result.unpackedBytes, payloads.reduce((sum, bytes) => sum + bytes.length, 0));
    const digest = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
    payloads.forEach((bytes, i) => assert.is(digest(readFileSync(join(stagingDir, `f${i}`))), digest(bytes), `f${i}`));
  } finally {
    tmp.cleanup();
  }
});

test('lists a bundle without writing anything', async () => {
  const tmp = tempDir('tide-bundle-');
  try {
    const archivePath = join(tmp.path, 'bundle.tar.gz');
    writeFileSync(archivePath, craftBundle({ entries: [{ name: './web/', type: 'dir' }, { name: './web/a', data: 'abc', mode: 0o755 }, { name: 'web/l', type: 'symlink', linkname: 'a' }] }));
    const entries = await readBundleEntries(archivePath);
    assert.equal(entries, [
      { path: 'web', kind: 'directory', mode: 0o755, size: 0, linkpath: undefined },
      { path: 'web/a', kind: 'file', mode: 0o755, size: 3, linkpath: undefined },
      { path: 'web/l', kind: 'symlink', mode: 0o777, size: 0, linkpath: 'a' },
    ]);
  } finally {
    tmp.cleanup();
  }
});

test.run();
