// Staging a bundle while its download still writes the part file: the tree counts
// only when every byte of the verified file was read without the part ever
// shrinking under the reader; anything else removes it.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { extractWhileDownloading, type StagingWhileDownloading } from '../../src/bundle/extract-while-downloading.js';
import { tempDir } from '../helpers/tmp.js';
import { craftBundle } from './fixtures.js';

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const KiB = 1024;

/** A release tree with a few MiB of random bytes, packed by GNU tar. */
function packedTree(dir: string): { bundle: Buffer; files: Record<string, Buffer> } {
  const tree = join(dir, 'tree');
  const files: Record<string, Buffer> = {
    'bin/demo': randomBytes(3 * 1024 * KiB),
    'web/index.html': Buffer.from('<h1>demo</h1>\n'.repeat(20_000)),
    'web/app.js': randomBytes(700 * KiB),
  };
  for (const [path, bytes] of Object.entries(files)) {
    mkdirSync(join(tree, path, '..'), { recursive: true, mode: 0o755 });
    writeFileSync(join(tree, path), bytes, { mode: path.startsWith('bin/') ? 0o755 : 0o644 });
  }
  spawnSync('chmod', ['-R', 'u=rwX,go=rX', tree]);
  const out = join(dir, 'bundle.tar.gz');
  const tar = spawnSync('tar', ['--owner=0', '--group=0', '--numeric-owner', '-czf', out, '-C', tree, 'bin', 'web']);
  assert.is(tar.status, 0, tar.stderr.toString());
  return { bundle: readFileSync(out), files };
}

interface Download {
  dest: string;
  /** Report a smaller offset after this many bytes (a restarted part), then write on from 0. */
  restartAt?: number;
  /** Stop after this many bytes, as a mirror that failed half-way. */
  failAt?: number;
}

/** A staging of `size` bytes (the bundle's own by default) from `<tmp>/demo.tar.gz` into `<tmp>/staging`. */
function startStaging(dir: string, size: number): { dest: string; stagingDir: string; staging: StagingWhileDownloading } {
  const dest = join(dir, 'demo.tar.gz');
  const stagingDir = join(dir, 'staging');
  const staging = extractWhileDownloading({ bundle: { partPath: `${dest}.part`, finalPath: dest, size }, stagingDir, maxUnpacked: 1 << 30 });
  return { dest, stagingDir, staging };
}

/** Writes the part file in 64 KiB steps, reporting each, then renames it as a verified download does. */
async function download(bytes: Buffer, staging: StagingWhileDownloading, d: Download): Promise<boolean> {
  const part = `${d.dest}.part`;
  let fd = openSync(part, 'w');
  let restarted = d.restartAt === undefined;
  for (let offset = 0; offset < bytes.length;) {
    const end = Math.min(offset + 64 * KiB, bytes.length);
    writeSync(fd, bytes, offset, end - offset, offset);
    offset = end;
    staging.written(offset);
    await tick();
    if (d.failAt !== undefined && offset >= d.failAt) {
      closeSync(fd);
      return false;
    }
    if (!restarted && offset >= d.restartAt!) {
      restarted = true;
      closeSync(fd);
      fd = openSync(part, 'w'); // truncated, and reported, as ArtifactPart.restart() does
      offset = 0;
      staging.written(0);
    }
  }
  closeSync(fd);
  renameSync(part, d.dest);
  return true;
}

test('stages a bundle from its part file while it grows, when the bytes are the signed ones', async () => {
  const tmp = tempDir();
  try {
    const { bundle, files } = packedTree(tmp.path);
    const dest = join(tmp.path, 'artifacts', 'demo.tar.gz');
    mkdirSync(join(tmp.path, 'artifacts'));
    const stagingDir = join(tmp.path, 'staging', 'x');
    const staging = extractWhileDownloading({ bundle: { partPath: `${dest}.part`, finalPath: dest, size: bundle.length }, stagingDir, maxUnpacked: 1 << 30 });
    assert.ok(await download(bundle, staging, { dest }));
    const outcome = await staging.finish();
    assert.ok(outcome.staged, outcome.staged ? '' : outcome.reason);
    for (const [path, bytes] of Object.entries(files)) assert.ok(readFileSync(join(stagingDir, path)).equals(bytes), path);
    assert.is(statSync(join(stagingDir, 'bin/demo')).mode & 0o7777, 0o755);
  } finally {
    tmp.cleanup();
  }
});

test('reads the verified file when the download never told how far it got', async () => {
  const tmp = tempDir();
  try {
    const { bundle, files } = packedTree(tmp.path);
    const { dest, stagingDir, staging } = startStaging(tmp.path, bundle.length);
    writeFileSync(dest, bundle);
    const outcome = await staging.finish();
    assert.ok(outcome.staged);
    assert.ok(readFileSync(join(stagingDir, 'web/app.js')).equals(files['web/app.js']!));
  } finally {
    tmp.cleanup();
  }
});

test('does not stage a file that ends before its signed size, and removes the tree', async () => {
  const tmp = tempDir();
  try {
    const { bundle } = packedTree(tmp.path);
    const { dest, stagingDir, staging } = startStaging(tmp.path, bundle.length + 512);
    await download(bundle, staging, { dest });
    const outcome = await staging.finish();
    assert.not.ok(outcome.staged);
    assert.match(outcome.staged ? '' : outcome.reason, /expected \d+ bytes of the download at offset \d+, found \d+/, outcome.staged ? '' : outcome.reason);
    assert.not.ok(existsSync(stagingDir));
  } finally {
    tmp.cleanup();
  }
});

test('a truncation reported right after the first chunk counts as a restart', async () => {
  const tmp = tempDir();
  try {
    const { bundle } = packedTree(tmp.path);
    const { dest, stagingDir, staging } = startStaging(tmp.path, bundle.length);
    await download(bundle, staging, { dest, restartAt: 1 });
    const outcome = await staging.finish();
    assert.not.ok(outcome.staged);
    assert.match(outcome.staged ? '' : outcome.reason, /restarted/);
    assert.not.ok(existsSync(stagingDir));
  } finally {
    tmp.cleanup();
  }
});

test('gives up when the download restarts its part file, and removes the tree', async () => {
  const tmp = tempDir();
  try {
    const { bundle } = packedTree(tmp.path);
    const { dest, stagingDir, staging } = startStaging(tmp.path, bundle.length);
    await download(bundle, staging, { dest, restartAt: 2 * 1024 * KiB });
    const outcome = await staging.finish();
    assert.not.ok(outcome.staged);
    assert.match(outcome.staged ? '' : outcome.reason, /restarted/);
    assert.not.ok(existsSync(stagingDir));
  } finally {
    tmp.cleanup();
  }
});

test('a refusal seen in the streamed bytes removes the tree and names the entry', async () => {
  const tmp = tempDir();
  try {
    const bundle = craftBundle({ entries: [{ name: 'bin', type: 'dir' }, { name: 'bin/demo', mode: 0o4755, data: 'x' }] });
    const { dest, stagingDir, staging } = startStaging(tmp.path, bundle.length);
    await download(bundle, staging, { dest });
    const outcome = await staging.finish();
    assert.not.ok(outcome.staged);
    assert.match(outcome.staged ? '' : outcome.reason, /setuid/);
    assert.not.ok(existsSync(stagingDir));
  } finally {
    tmp.cleanup();
  }
});

test('abandoning a failed download stops the worker and removes the tree', async () => {
  const tmp = tempDir();
  try {
    const { bundle } = packedTree(tmp.path);
    const { dest, stagingDir, staging } = startStaging(tmp.path, bundle.length);
    assert.not.ok(await download(bundle, staging, { dest, failAt: 1024 * KiB }));
    await staging.abandon();
    assert.not.ok(existsSync(stagingDir));
    assert.ok(existsSync(`${dest}.part`), 'the part stays for the next attempt to resume');
  } finally {
    tmp.cleanup();
  }
});

test.run();
