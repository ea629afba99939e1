// test-needs: network
// Staging while downloading, through the real mirror client and real HTTP servers:
// a mirror that stalls half-way and a next mirror that resumes (Range) still give a
// staged tree; a next mirror that ignores Range truncates the part, the part says so,
// and the streamed tree is dropped (the caller then extracts the verified file).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { extractWhileDownloading } from '../../src/bundle/extract-while-downloading.js';
import { downloadFromFirstGood } from '../../src/mirror/fetch-from-mirrors.js';
import { createMirrorClient } from '../../src/mirror/create-mirror-client.js';
import { tempDir } from '../helpers/tmp.js';
import { fileHandler, serve, sha256, stallHandler } from '../mirror/mirror-server.js';

const MiB = 1024 * 1024;
const path = 'releases/1.0.0/demo.tar.gz';
// A stall is declared after 1 s without a byte: long enough for a loaded CI machine, short for a test.
const quick = { connectTimeoutMs: 2_000, stallTimeoutMs: 1_000, documentDeadlineMs: 2_000, minBytesPerSecond: 1_000, minRateGraceMs: 1_000 };

/** A few MiB of incompressible files, packed by GNU tar. */
function packedBundle(dir: string): { bundle: Buffer; files: Record<string, Buffer> } {
  const tree = join(dir, 'tree');
  const files: Record<string, Buffer> = { 'bin/demo': randomBytes(3 * MiB), 'web/app.js': randomBytes(2 * MiB) };
  for (const [name, bytes] of Object.entries(files)) {
    mkdirSync(join(tree, name, '..'), { recursive: true, mode: 0o755 });
    writeFileSync(join(tree, name), bytes, { mode: 0o644 });
  }
  const out = join(dir, 'bundle.tar.gz');
  const tar = spawnSync('tar', ['--owner=0', '--group=0', '--numeric-owner', '-czf', out, '-C', tree, 'bin', 'web']);
  assert.is(tar.status, 0, tar.stderr.toString());
  return { bundle: readFileSync(out), files };
}

async function stageFrom(mirrors: string[], dir: string, bundle: Buffer) {
  const dest = join(dir, 'artifacts', 'demo.tar.gz');
  mkdirSync(join(dir, 'artifacts'), { recursive: true });
  const stagingDir = join(dir, 'staging');
  const staging = extractWhileDownloading({ bundle: { partPath: `${dest}.part`, finalPath: dest, size: bundle.length }, stagingDir, maxUnpacked: 1 << 30 });
  const expect = { size: bundle.length, sha256: sha256(bundle), durable: false };
  await downloadFromFirstGood(mirrors, path, expect, dest, createMirrorClient(quick), undefined, (bytes) => staging.written(bytes));
  return { outcome: await staging.finish(), stagingDir, dest };
}

test('a mirror that stalls half-way, then one that resumes with Range: the streamed tree is staged', async () => {
  const tmp = tempDir();
  const { bundle, files } = packedBundle(tmp.path);
  const stalling = await serve(stallHandler({ 'content-length': bundle.length }, bundle.subarray(0, 2 * MiB)));
  const resuming = await serve(fileHandler(bundle));
  try {
    const { outcome, stagingDir, dest } = await stageFrom([stalling.url, resuming.url], tmp.path, bundle);
    assert.ok(outcome.staged, outcome.staged ? '' : outcome.reason);
    assert.match(String(resuming.requests[0]!.headers.range), /^bytes=\d+-$/);
    for (const [name, bytes] of Object.entries(files)) assert.ok(readFileSync(join(stagingDir, name)).equals(bytes), name);
    assert.ok(readFileSync(dest).equals(bundle));
  } finally {
    await stalling.close();
    await resuming.close();
    tmp.cleanup();
  }
});

test('a next mirror that ignores Range truncates the part: the streamed tree is dropped', async () => {
  const tmp = tempDir();
  const { bundle } = packedBundle(tmp.path);
  const stalling = await serve(stallHandler({ 'content-length': bundle.length }, bundle.subarray(0, 2 * MiB)));
  const whole = await serve(fileHandler(bundle, { ignoreRange: true }));
  try {
    const { outcome, stagingDir, dest } = await stageFrom([stalling.url, whole.url], tmp.path, bundle);
    assert.not.ok(outcome.staged);
    assert.match(outcome.staged ? '' : outcome.reason, /restarted its part file/);
    assert.not.ok(existsSync(stagingDir), 'the streamed tree is removed');
    assert.ok(readFileSync(dest).equals(bundle), 'the verified file is there to extract again');
  } finally {
    await stalling.close();
    await whole.close();
    tmp.cleanup();
  }
});

test('a truncation back to the very length already read is still seen (bytes from a bad mirror never count)', async () => {
  const tmp = tempDir();
  const { bundle } = packedBundle(tmp.path);
  // The first mirror's bytes are wrong, and it stalls after exactly one part write
  // (512 KiB): the restart's first report names the same length again.
  const tampered = Buffer.from(bundle.subarray(0, 512 * 1024));
  tampered[1000] ^= 0xff;
  const stalling = await serve(stallHandler({ 'content-length': bundle.length }, tampered));
  const whole = await serve(fileHandler(bundle, { ignoreRange: true }));
  try {
    const { outcome, stagingDir } = await stageFrom([stalling.url, whole.url], tmp.path, bundle);
    assert.not.ok(outcome.staged, 'a tree read partly from the bad mirror must not count');
    assert.match(outcome.staged ? '' : outcome.reason, /restarted its part file/);
    assert.not.ok(existsSync(stagingDir));
  } finally {
    await stalling.close();
    await whole.close();
    tmp.cleanup();
  }
});

test.run();
