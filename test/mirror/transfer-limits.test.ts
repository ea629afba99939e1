import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { TideError } from '../../src/errors.js';
import { guardTransfer, readCappedDocument } from '../../src/mirror/transfer-limits.js';
import { rejectsWithCode } from '../helpers/assert-error.js';

const where = { mirror: 'http://m', file: 'a.json' };
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function* pieces(...sizes: number[]): AsyncGenerator<Buffer> {
  for (const size of sizes) yield Buffer.alloc(size, 1);
}

test('a document of exactly the cap is accepted, one byte more is refused', async () => {
  assert.is((await readCappedDocument(pieces(600, 424), 1024, where)).length, 1024);
  const err = await rejectsWithCode(readCappedDocument(pieces(600, 425), 1024, where), 'size');
  assert.equal(err.where, where);
});

test('stops pulling from the source once the cap is passed', async () => {
  let pulled = 0;
  async function* endless(): AsyncGenerator<Buffer> {
    for (let i = 0; i < 1000; i += 1) {
      pulled += 1;
      yield Buffer.alloc(100);
    }
  }
  await rejectsWithCode(readCappedDocument(endless(), 250, where), 'size');
  assert.is(pulled, 3);
});

test('the guard trips on a stall, once', async () => {
  const trips: TideError[] = [];
  const guard = guardTransfer({ stallTimeoutMs: 60 }, where, (err) => trips.push(err));
  guard.received(10);
  await sleep(200);
  guard.stop();
  assert.is(trips.length, 1);
  assert.is(trips[0].code, 'timeout');
  assert.match(trips[0].message, /stalled after 10 bytes/);
});

test('the guard trips on the deadline even while bytes keep coming', async () => {
  const trips: TideError[] = [];
  const guard = guardTransfer({ stallTimeoutMs: 60, deadlineMs: 150 }, where, (err) => trips.push(err));
  for (let i = 0; i < 12 && trips.length === 0; i += 1) {
    guard.received(1);
    await sleep(25);
  }
  guard.stop();
  assert.is(trips.length, 1);
  assert.match(trips[0].message, /within 150 ms/);
});

test('the guard trips below the minimum rate only after the grace period', async () => {
  const trips: TideError[] = [];
  const guard = guardTransfer({ stallTimeoutMs: 1_000, minBytesPerSecond: 10_000, minRateGraceMs: 150 }, where, (err) => trips.push(err));
  guard.received(100);
  await sleep(100);
  assert.is(trips.length, 0, 'no verdict during the grace period');
  await sleep(200);
  guard.stop();
  assert.is(trips.length, 1);
  assert.match(trips[0].message, /too slow/);
});

test('a stopped guard never trips', async () => {
  const trips: TideError[] = [];
  const guard = guardTransfer({ stallTimeoutMs: 20 }, where, (err) => trips.push(err));
  guard.stop();
  await sleep(80);
  assert.is(trips.length, 0);
});

test.run();
