// tide.lock.holder read through its schema: a damaged holder file never breaks the
// lock, it only hides who holds it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as lockModule from '../../src/machine/lock.js';
import { acquireStateLock } from '../../src/machine/lock.js';
import { rejectsWithCode } from '../helpers/assert-error.js';
import { tempDir } from '../helpers/tmp.js';

const holderFile = (dir: string) => join(dir, 'tide.lock.holder');
/** The lock's mtime from this process's clock: under a shifted test clock a real-time mtime looks stale. */
const freshen = (dir: string) => utimesSync(join(dir, 'tide.lock'), new Date(), new Date());

test('a garbage holder file left behind does not stop the next tide, which writes a good one', async () => {
  const tmp = tempDir();
  try {
    writeFileSync(holderFile(tmp.path), '{"pid": "not a pid", "ho');
    const release = await acquireStateLock(tmp.path, 'update');
    const holder = JSON.parse(readFileSync(holderFile(tmp.path), 'utf8'));
    assert.equal([holder.schema, holder.pid, holder.command], [1, process.pid, 'update']);
    await release();
  } finally {
    tmp.cleanup();
  }
});

test('a holder "file" that is a directory is replaced', async () => {
  const tmp = tempDir();
  try {
    mkdirSync(join(holderFile(tmp.path), 'junk'), { recursive: true });
    const release = await acquireStateLock(tmp.path, 'verify');
    assert.is(JSON.parse(readFileSync(holderFile(tmp.path), 'utf8')).command, 'verify');
    await release();
  } finally {
    tmp.cleanup();
  }
});

test('a lock taken before this system booted, with no holder named (a power cut in between), is recovered at once', async () => {
  const tmp = tempDir();
  try {
    mkdirSync(join(tmp.path, 'tide.lock'));
    freshen(tmp.path);
    // Touched a second before init started: the boot came after it.
    const release = await acquireStateLock(tmp.path, 'verify', { initStartedAt: () => Date.now() + 1_000 });
    assert.is(JSON.parse(readFileSync(holderFile(tmp.path), 'utf8')).command, 'verify');
    await release();
  } finally {
    tmp.cleanup();
  }
});

test('the same lock taken in this boot (init started an hour ago) still refuses: exit 7', async () => {
  const tmp = tempDir();
  try {
    mkdirSync(join(tmp.path, 'tide.lock'));
    freshen(tmp.path);
    await rejectsWithCode(acquireStateLock(tmp.path, 'verify', { initStartedAt: () => Date.now() - 3_600_000 }), 'locked');
  } finally {
    tmp.cleanup();
  }
});

test('init start time from /proc is in the past and after the epoch', () => {
  const { initStartedAtMs } = lockModule;
  const started = initStartedAtMs();
  assert.ok(started !== null && started > 0 && started <= Date.now(), String(started));
});

test('a held lock with a damaged holder file still refuses a second tide: holder unknown', async () => {
  const tmp = tempDir();
  try {
    const release = await acquireStateLock(tmp.path, 'update');
    for (const garbage of ['garbage', '{"pid": 0, "host": "x", "command": "update", "since": "now"}', '[]', '{"schema": 9, "pid": 1, "host": "x", "command": "update", "since": "now"}']) {
      writeFileSync(holderFile(tmp.path), garbage);
      freshen(tmp.path);
      const err = await rejectsWithCode(acquireStateLock(tmp.path, 'update'), 'locked');
      assert.is(err.message, 'another tide process (holder unknown: tide.lock.holder is damaged) holds the lock', garbage);
    }
    writeFileSync(holderFile(tmp.path), JSON.stringify({ pid: process.pid, host: 'h', command: 'daemon', since: '2026-11-23T10:00:00.000Z' }));
    freshen(tmp.path);
    const err = await rejectsWithCode(acquireStateLock(tmp.path, 'update'), 'locked');
    assert.match(err.message, new RegExp(`^pid ${process.pid} \\(tide daemon, since 2026-11-23T10:00:00.000Z\\) holds the lock`), 'an older holder file without schema reads');
    await release();
  } finally {
    tmp.cleanup();
  }
});

test.run();
