// test-needs: network
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMirrorClient } from '../../src/mirror/create-mirror-client.js';
import { rejectsWithCode } from '../helpers/assert-error.js';
import { tempDir } from '../helpers/tmp.js';
import { endlessHandler, fileHandler, patternBytes, serve, sha256, stallHandler, trickleHandler } from './mirror-server.js';

const quick = { connectTimeoutMs: 1_000, stallTimeoutMs: 300, documentDeadlineMs: 800, minBytesPerSecond: 1_000, minRateGraceMs: 300 };
const path = 'demo-1.0.0.tar.gz';
const artifact = patternBytes(200_000);
const expect = { size: artifact.length, sha256: sha256(artifact) };

test('downloads an artifact through a .part and reports progress', async () => {
  const tmp = tempDir();
  const server = await serve(fileHandler(artifact));
  try {
    const dest = join(tmp.path, 'bundle.tar.gz');
    const progress: number[] = [];
    await createMirrorClient(quick).downloadArtifact(server.url, path, expect, dest, (bytes, total) => {
      assert.is(total, artifact.length);
      progress.push(bytes);
    });
    assert.ok(readFileSync(dest).equals(artifact));
    assert.not.ok(existsSync(`${dest}.part`));
    assert.is(progress.at(-1), artifact.length);
    assert.ok(progress.every((bytes, i) => i === 0 || bytes > progress[i - 1]));
  } finally {
    await server.close();
    tmp.cleanup();
  }
});

test('tampered bytes are refused with hash and the .part is removed', async () => {
  const tmp = tempDir();
  const tampered = Buffer.from(artifact);
  tampered[1234] ^= 1;
  const server = await serve(fileHandler(tampered));
  try {
    const dest = join(tmp.path, 'bundle.tar.gz');
    const err = await rejectsWithCode(createMirrorClient(quick).downloadArtifact(server.url, path, expect, dest), 'hash');
    assert.match(err.message, new RegExp(`expected sha256 ${expect.sha256}, got ${sha256(tampered)}`));
    assert.is(err.exitCode, 3);
    assert.not.ok(existsSync(dest));
    assert.not.ok(existsSync(`${dest}.part`));
  } finally {
    await server.close();
    tmp.cleanup();
  }
});

test('a mirror sending more than the signed size is refused and nothing past the size is written', async () => {
  const tmp = tempDir();
  const endless = endlessHandler();
  const server = await serve(endless);
  try {
    const dest = join(tmp.path, 'bundle.tar.gz');
    const err = await rejectsWithCode(createMirrorClient(quick).downloadArtifact(server.url, path, { size: 100_000, sha256: expect.sha256 }, dest), 'size');
    assert.match(err.message, /expected 100000 bytes, the mirror sent more/);
    assert.not.ok(existsSync(dest));
    assert.not.ok(existsSync(`${dest}.part`));
  } finally {
    await server.close();
    tmp.cleanup();
  }
});

test('an announced length other than the signed size is refused before the body', async () => {
  const tmp = tempDir();
  const server = await serve(stallHandler({ 'content-length': artifact.length + 1 }));
  try {
    const dest = join(tmp.path, 'bundle.tar.gz');
    const err = await rejectsWithCode(createMirrorClient({ ...quick, stallTimeoutMs: 5_000 }).downloadArtifact(server.url, path, expect, dest), 'size');
    assert.match(err.message, /announces 200001/);
  } finally {
    await server.close();
    tmp.cleanup();
  }
});

test('a file that ends short of the signed size is refused', async () => {
  const tmp = tempDir();
  const server = await serve((_req, res) => {
    res.write(artifact.subarray(0, 1000)); // chunked: no length announced, and it ends cleanly
    res.end();
  });
  try {
    const dest = join(tmp.path, 'bundle.tar.gz');
    const err = await rejectsWithCode(createMirrorClient(quick).downloadArtifact(server.url, path, expect, dest), 'size');
    assert.match(err.message, /ended after 1000/);
    assert.not.ok(existsSync(`${dest}.part`));
  } finally {
    await server.close();
    tmp.cleanup();
  }
});

test('a stall keeps the .part and the next attempt resumes it with a Range request', async () => {
  const tmp = tempDir();
  const stalling = await serve(stallHandler({ 'content-length': artifact.length }, artifact.subarray(0, 50_000)));
  const good = await serve(fileHandler(artifact));
  try {
    const dest = join(tmp.path, 'bundle.tar.gz');
    const client = createMirrorClient(quick);
    const err = await rejectsWithCode(client.downloadArtifact(stalling.url, path, expect, dest), 'timeout');
    assert.match(err.message, /stalled/);
    assert.is(statSync(`${dest}.part`).size, 50_000);
    await client.downloadArtifact(good.url, path, expect, dest);
    assert.is(good.requests[0].headers.range, 'bytes=50000-');
    assert.ok(readFileSync(dest).equals(artifact));
    assert.not.ok(existsSync(`${dest}.part`));
  } finally {
    await stalling.close();
    await good.close();
    tmp.cleanup();
  }
});

test('a connection reset mid-transfer is unreachable and keeps the .part', async () => {
  const tmp = tempDir();
  const server = await serve((_req, res) => {
    res.writeHead(200, { 'content-length': artifact.length });
    res.write(artifact.subarray(0, 30_000), () => setTimeout(() => res.socket?.destroy(), 50));
  });
  try {
    const dest = join(tmp.path, 'bundle.tar.gz');
    const err = await rejectsWithCode(createMirrorClient(quick).downloadArtifact(server.url, path, expect, dest), 'unreachable');
    assert.is(err.exitCode, 4);
    assert.is(statSync(`${dest}.part`).size, 30_000);
  } finally {
    await server.close();
    tmp.cleanup();
  }
});

test('a trickling artifact is dropped as too slow and its .part kept', async () => {
  const tmp = tempDir();
  const server = await serve(trickleHandler(100, { 'content-length': artifact.length }));
  try {
    const dest = join(tmp.path, 'bundle.tar.gz');
    const started = Date.now();
    const err = await rejectsWithCode(createMirrorClient(quick).downloadArtifact(server.url, path, expect, dest), 'timeout');
    assert.match(err.message, /too slow/);
    assert.ok(Date.now() - started < 3_000);
    assert.ok(statSync(`${dest}.part`).size > 0, 'the trickled bytes are kept for a resume');
  } finally {
    await server.close();
    tmp.cleanup();
  }
});

test('a mirror that ignores Range (200) restarts the part from byte 0', async () => {
  const tmp = tempDir();
  const server = await serve(fileHandler(artifact, { ignoreRange: true }));
  try {
    const dest = join(tmp.path, 'bundle.tar.gz');
    writeFileSync(`${dest}.part`, artifact.subarray(0, 70_000));
    // What a reader of the growing part relies on: every report is on disk, and the truncation is reported.
    const reports: { bytes: number; onDisk: number }[] = [];
    await createMirrorClient(quick).downloadArtifact(server.url, path, expect, dest, (bytes) => {
      reports.push({ bytes, onDisk: statSync(`${dest}.part`).size });
    });
    assert.is(server.requests.length, 1);
    assert.is(server.requests[0].headers.range, 'bytes=70000-');
    assert.ok(readFileSync(dest).equals(artifact));
    assert.equal(reports.map((r) => r.bytes), [70_000, 0, artifact.length]);
    assert.ok(reports.every((r) => r.onDisk >= r.bytes), JSON.stringify(reports));
  } finally {
    await server.close();
    tmp.cleanup();
  }
});

test('a 416 or a Content-Range that does not continue the part starts over', async () => {
  const tmp = tempDir();
  let answer: 'wrong-range' | '416' = '416';
  const full = fileHandler(artifact);
  const server = await serve((req, res) => {
    if (!req.headers.range) return full(req, res);
    if (answer === '416') return res.writeHead(416).end();
    res.writeHead(206, { 'content-range': `bytes 0-${artifact.length - 1}/${artifact.length}` }).end(artifact);
  });
  try {
    const client = createMirrorClient(quick);
    for (const kind of ['416', 'wrong-range'] as const) {
      answer = kind;
      const dest = join(tmp.path, `bundle-${kind}`);
      writeFileSync(`${dest}.part`, artifact.subarray(0, 10_000));
      await client.downloadArtifact(server.url, path, expect, dest);
      assert.ok(readFileSync(dest).equals(artifact), kind);
    }
    assert.equal(server.requests.map((r) => r.headers.range ?? 'none'), ['bytes=10000-', 'none', 'bytes=10000-', 'none']);
  } finally {
    await server.close();
    tmp.cleanup();
  }
});

test('a poisoned .part from an earlier mirror is fetched whole again instead of blaming this mirror', async () => {
  const tmp = tempDir();
  const server = await serve(fileHandler(artifact));
  try {
    const dest = join(tmp.path, 'bundle.tar.gz');
    const poisoned = Buffer.from(artifact.subarray(0, 80_000));
    poisoned[5] ^= 0xff;
    writeFileSync(`${dest}.part`, poisoned);
    await createMirrorClient(quick).downloadArtifact(server.url, path, expect, dest);
    assert.equal(server.requests.map((r) => r.headers.range ?? 'none'), ['bytes=80000-', 'none']);
    assert.ok(readFileSync(dest).equals(artifact));
  } finally {
    await server.close();
    tmp.cleanup();
  }
});

test('a complete and correct .part is finished without asking the mirror', async () => {
  const tmp = tempDir();
  const server = await serve(fileHandler(artifact));
  try {
    const dest = join(tmp.path, 'bundle.tar.gz');
    writeFileSync(`${dest}.part`, artifact);
    await createMirrorClient(quick).downloadArtifact(server.url, path, expect, dest);
    assert.is(server.requests.length, 0);
    assert.ok(readFileSync(dest).equals(artifact));
  } finally {
    await server.close();
    tmp.cleanup();
  }
});

test('a 404 for an artifact is not-found and leaves no empty .part', async () => {
  const tmp = tempDir();
  const server = await serve((_req, res) => res.writeHead(404).end());
  try {
    const dest = join(tmp.path, 'bundle.tar.gz');
    await rejectsWithCode(createMirrorClient(quick).downloadArtifact(server.url, path, expect, dest), 'not-found');
    assert.not.ok(existsSync(`${dest}.part`));
  } finally {
    await server.close();
    tmp.cleanup();
  }
});

test.run();
