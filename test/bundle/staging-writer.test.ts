// The staging writer writes many files at once: every byte still lands in order in
// the right file with the right mode, the reader is held back while too much waits,
// and a failure stops everything before the caller removes the tree.
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isTideError } from '../../src/errors.js';
import type { CheckedEntry } from '../../src/bundle/policy.js';
import { StagingWriter } from '../../src/bundle/staging-writer.js';
import { tempDir } from '../helpers/tmp.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const file = (path: string, size: number, mode = 0o644): CheckedEntry => ({ path, kind: 'file', mode, size });

/** Feeds one file in chunks of `chunkBytes`, waiting whenever the writer asks, as the reader does. */
async function feedFile(writer: StagingWriter, entry: CheckedEntry, bytes: Buffer, chunkBytes: number): Promise<number> {
  let waits = 0;
  writer.begin(entry);
  for (let offset = 0; offset < bytes.length; offset += chunkBytes) {
    // The writer copies what it keeps: reusing the chunk's memory must not matter.
    const chunk = Buffer.from(bytes.subarray(offset, offset + chunkBytes));
    writer.data(chunk);
    chunk.fill(0);
    const busy = writer.ready();
    if (busy) {
      waits += 1;
      await busy;
    }
  }
  writer.end(entry);
  return waits;
}

test('a file larger than the block pool arrives whole and in order, and the reader is held back meanwhile', async () => {
  const tmp = tempDir('tide-writer-');
  try {
    const root = join(tmp.path, 'staging');
    mkdirSync(root);
    const writer = new StagingWriter(root);
    const bytes = randomBytes(24 * MiB);
    const waits = await feedFile(writer, file('bin/big', bytes.length, 0o755), bytes, 256 * KiB);
    await writer.finish();
    assert.is(sha256(readFileSync(join(root, 'bin/big'))), sha256(bytes));
    assert.is(lstatSync(join(root, 'bin/big')).mode & 0o7777, 0o755);
    assert.is(lstatSync(join(root, 'bin')).mode & 0o7777, 0o755);
    assert.ok(waits > 0, 'the writer asked the reader to wait at least once');
  } finally {
    tmp.cleanup();
  }
});

test('thousands of small files in many directories, each with its own bytes and mode', async () => {
  const tmp = tempDir('tide-writer-');
  try {
    const root = join(tmp.path, 'staging');
    mkdirSync(root);
    const writer = new StagingWriter(root);
    const expected = new Map<string, { bytes: Buffer; mode: number }>();
    for (let i = 0; i < 3000; i++) {
      const path = `web/d${i % 37}/sub${i % 5}/f${i}.js`;
      const bytes = randomBytes(i % 7 === 0 ? 0 : 1 + (i % 900));
      const mode = i % 3 === 0 ? 0o755 : 0o644;
      expected.set(path, { bytes, mode });
      await feedFile(writer, file(path, bytes.length, mode), bytes, 512);
    }
    await writer.finish();
    for (const [path, { bytes, mode }] of expected) {
      assert.ok(readFileSync(join(root, path)).equals(bytes), path);
      assert.is(lstatSync(join(root, path)).mode & 0o7777, mode, path);
    }
    assert.is(readdirSync(join(root, 'web')).length, 37);
  } finally {
    tmp.cleanup();
  }
});

test('a failed write stops the writer: ready() and finish() name the entry, and nothing writes afterwards', async () => {
  const tmp = tempDir('tide-writer-');
  try {
    const root = join(tmp.path, 'staging');
    mkdirSync(root);
    // Something that is not ours where the bundle wants a directory: mkdir fails.
    writeFileSync(join(root, 'web'), 'in the way');
    const writer = new StagingWriter(root);
    writer.begin(file('web/index.html', 5));
    writer.data(Buffer.from('hello'));
    writer.end(file('web/index.html', 5));
    const failure = await writer.finish().then(() => undefined, (err: unknown) => err);
    assert.ok(isTideError(failure, 'internal'), String(failure));
    assert.match((failure as Error).message, /could not stage entry/);
    assert.match((failure as Error).message, /EEXIST/);
    // The reader is told at once, and later entries are refused before they are scheduled.
    assert.ok(await writer.ready()?.then(() => false, () => true), 'ready() rejects after a failure');
    assert.throws(() => writer.begin(file('web/other.html', 1)), /could not stage entry/);
    assert.equal(readdirSync(root), ['web']);
  } finally {
    tmp.cleanup();
  }
});

test('abort() waits until nothing writes any more, then the tree can go', async () => {
  const tmp = tempDir('tide-writer-');
  try {
    const root = join(tmp.path, 'staging');
    mkdirSync(root);
    const writer = new StagingWriter(root);
    for (let i = 0; i < 200; i++) {
      const entry = file(`web/f${i}`, 64 * KiB);
      writer.begin(entry);
      writer.data(randomBytes(64 * KiB));
      writer.end(entry);
    }
    writer.begin(file('web/unfinished', MiB));
    writer.data(randomBytes(KiB));
    await writer.abort(new Error('the download failed'));
    const before = readdirSync(join(root, 'web')).length;
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.is(readdirSync(join(root, 'web')).length, before, 'no file appears after abort() resolved');
    assert.ok(before < 201, 'the queued files were never created');
  } finally {
    tmp.cleanup();
  }
});

test('under a umask of 077 files and directories still get exactly the modes the bundle says', async () => {
  const tmp = tempDir('tide-writer-');
  const umask = process.umask(0o077);
  try {
    const root = join(tmp.path, 'staging');
    mkdirSync(root);
    const writer = new StagingWriter(root);
    await feedFile(writer, file('bin/demo', 3, 0o755), Buffer.from('abc'), 3);
    await feedFile(writer, file('web/index.html', 2, 0o644), Buffer.from('hi'), 2);
    await writer.finish();
    assert.is(lstatSync(join(root, 'bin/demo')).mode & 0o7777, 0o755);
    assert.is(lstatSync(join(root, 'web/index.html')).mode & 0o7777, 0o644);
    assert.is(lstatSync(join(root, 'web')).mode & 0o7777, 0o755);
  } finally {
    process.umask(umask);
    tmp.cleanup();
  }
});

test.run();
