// The stream under the entries: damaged gzip and tar, bytes after the end, and
// bombs that must be refused at the cap instead of after writing gigabytes.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TideError } from '../../src/errors.js';
import { extractBundle } from '../../src/bundle/extract.js';
import { rejectsWithCode } from '../helpers/assert-error.js';
import { tempDir } from '../helpers/tmp.js';
import { craftBundle, craftTar, craftTars, expectRefusal } from './fixtures.js';

const web = { name: 'web', type: 'dir' };
const index = { name: 'web/index.html', data: '<h1>demo</h1>' };
const MiB = 1024 * 1024;

test('refuses a truncated gzip stream', async () => {
  const whole = craftBundle({ entries: [web, index] });
  const err = await expectRefusal(whole.subarray(0, whole.length - 20), { code: 'bundle-policy' });
  assert.match(err.message, /damaged/);
});

test('refuses a tar cut short inside an entry', async () => {
  const bundle = gzipSync(craftTar({ entries: [web, { name: 'web/big', zeros: 4096, size: 8192, truncate: true }] }));
  await expectRefusal(bundle, { code: 'bundle-policy' });
});

test('refuses a tar without its end-of-archive marker', async () => {
  const err = await expectRefusal(gzipSync(craftTar({ entries: [web, index], noEnd: true })), { code: 'bundle-policy' });
  assert.match(err.message, /end-of-archive marker/);
});

test('refuses a header with a bad checksum', async () => {
  const tar = Buffer.from(craftTar({ entries: [web, index] }));
  tar[512 + 5] ^= 0x20; // a letter of the second header's name
  const err = await expectRefusal(gzipSync(tar), { code: 'bundle-policy' });
  assert.match(err.message, /checksum/);
});

test('refuses bytes after the end-of-archive marker', async () => {
  const tar = craftTar({ entries: [web, index] });
  const withTail = Buffer.concat([tar, Buffer.from('#!/bin/sh\nrm -rf /\n'), Buffer.alloc(1000)]);
  const err = await expectRefusal(gzipSync(withTail), { code: 'bundle-policy' });
  assert.match(err.message, /only zero padding/);
});

test('refuses garbage after the gzip stream', async () => {
  const bundle = Buffer.concat([craftBundle({ entries: [web, index] }), Buffer.from('trailing garbage')]);
  await expectRefusal(bundle, { code: 'bundle-policy' });
});

test('refuses a file that is not gzip, a gzip in a gzip, an empty file and an empty archive', async () => {
  const tar = craftTar({ entries: [web, index] });
  await expectRefusal(tar, { code: 'bundle-policy' });
  const err = await expectRefusal(gzipSync(gzipSync(tar)), { code: 'bundle-policy' });
  assert.match(err.message, /another gzip stream/);
  await expectRefusal(Buffer.alloc(0), { code: 'bundle-policy' });
  await expectRefusal(gzipSync(Buffer.alloc(0)), { code: 'bundle-policy' });
  const empty = await expectRefusal(gzipSync(Buffer.alloc(10240)), { code: 'bundle-policy' });
  assert.match(empty.message, /empty tar archive/);
});

test('refuses a zip bomb at the cap, before its bytes are written', async () => {
  const bomb = craftBundle({ entries: [web, { name: 'web/bomb', bomb: 64 * MiB }] });
  assert.ok(bomb.length * 100 < 64 * MiB, `compresses well: ${bomb.length} bytes`);
  const started = Date.now();
  const err = await expectRefusal(bomb, { code: 'size', entry: 'web/bomb', maxUnpacked: MiB });
  assert.match(err.message, /at most 1048576 unpacked bytes/);
  assert.ok(Date.now() - started < 3_000, 'refused at the header, not after inflating 64 MiB');
});

test('refuses at the header that declares too much, before reading its body', async () => {
  // 10 GiB declared, 4 KiB present: only a refusal at the header gives 'size' here.
  const bundles = craftTars([
    { format: 'pax', entries: [web, { name: 'web/huge', zeros: 4096, size: 10 * 1024 * MiB, truncate: true }] },
    { format: 'gnu', entries: [web, { name: 'web/huge', zeros: 4096, size: 10 * 1024 * MiB, truncate: true }] },
  ]).map((tar) => gzipSync(tar));
  for (const bundle of bundles) {
    await expectRefusal(bundle, { code: 'size', entry: 'web/huge', maxUnpacked: 100 * MiB });
  }
});

test('refuses an endless zero tail without buffering it', async () => {
  const tar = craftTar({ entries: [web, index] });
  const bundle = gzipSync(Buffer.concat([tar, Buffer.alloc(64 * MiB)]));
  const before = process.memoryUsage().rss;
  const err = await expectRefusal(bundle, { code: 'bundle-policy' });
  assert.match(err.message, /padding after the end-of-archive marker/);
  assert.ok(process.memoryUsage().rss - before < 48 * MiB, 'the tail was not kept in memory');
});

test('removes the staging directory when the caller aborts', async () => {
  const tmp = tempDir('tide-bundle-');
  try {
    const archivePath = join(tmp.path, 'bundle.tar.gz');
    const files = Array.from({ length: 40 }, (_, i) => ({ name: `web/f${i}`, bomb: MiB }));
    writeFileSync(archivePath, craftBundle({ entries: [web, ...files] }));
    const stagingDir = join(tmp.path, 'staging');
    const controller = new AbortController();
    const reason = new TideError('timeout', 'the update took too long');
    setTimeout(() => controller.abort(reason), 5);
    const err = await rejectsWithCode(extractBundle({ archivePath, stagingDir, maxUnpacked: 1024 * MiB, signal: controller.signal }), 'timeout');
    assert.is(err, reason);
    assert.not.ok(existsSync(stagingDir));
  } finally {
    tmp.cleanup();
  }
});

test('refuses to reuse a staging directory that exists, and leaves it alone', async () => {
  const tmp = tempDir('tide-bundle-');
  try {
    const archivePath = join(tmp.path, 'bundle.tar.gz');
    writeFileSync(archivePath, craftBundle({ entries: [web, index] }));
    const stagingDir = join(tmp.path, 'staging');
    mkdirSync(stagingDir);
    writeFileSync(join(stagingDir, 'keep'), 'mine');
    const err = await rejectsWithCode(extractBundle({ archivePath, stagingDir, maxUnpacked: MiB }), 'internal');
    assert.match(err.message, /fresh staging directory/);
    assert.ok(existsSync(join(stagingDir, 'keep')));
  } finally {
    tmp.cleanup();
  }
});

test.run();
