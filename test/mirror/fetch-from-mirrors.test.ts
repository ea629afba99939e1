// test-needs: network
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TideError } from '../../src/errors.js';
import type { LogEvent, LogLevel } from '../../src/log/logger.js';
import { type MirrorClient } from '../../src/mirror/mirror-client.js';
import { createMirrorClient } from '../../src/mirror/create-mirror-client.js';
import { downloadFromFirstGood, everyMirrorFailed, fetchFromAll } from '../../src/mirror/fetch-from-mirrors.js';
import { rejectsWithCode } from '../helpers/assert-error.js';
import { freePort } from '../../scripts/lib/free-port.js';
import { tempDir } from '../helpers/tmp.js';
import { fileHandler, patternBytes, serve, sha256 } from './mirror-server.js';

const quick = { connectTimeoutMs: 1_000, stallTimeoutMs: 300, documentDeadlineMs: 800, minBytesPerSecond: 1_000, minRateGraceMs: 300 };
const artifact = patternBytes(120_000);
const expect = { size: artifact.length, sha256: sha256(artifact) };

function recordingLogger(): { events: Array<{ level: LogLevel; event: LogEvent }>; log(level: LogLevel, event: LogEvent): void } {
  const events: Array<{ level: LogLevel; event: LogEvent }> = [];
  return { events, log: (level, event) => events.push({ level, event }) };
}

test('fetchFromAll answers per mirror, in order, without throwing', async () => {
  const good = await serve((_req, res) => res.end('{"sequence":7}'));
  const missing = await serve((_req, res) => res.writeHead(404).end());
  const refused = `http://127.0.0.1:${await freePort()}`;
  try {
    const mirrors = [missing.url, good.url, refused, 'ftp://nowhere/demo'];
    const answers = await fetchFromAll(mirrors, 'channels/stable.json', 1024, createMirrorClient(quick));
    assert.equal(answers.map((a) => a.mirror), mirrors);
    assert.equal(answers.map((a) => (a.ok ? 'ok' : a.error.code)), ['not-found', 'ok', 'unreachable', 'config']);
    const ok = answers[1];
    assert.ok(ok.ok && ok.bytes.toString() === '{"sequence":7}');
    const failed = answers[2];
    assert.ok(!failed.ok && failed.error.where.mirror === refused && failed.error.where.file === 'channels/stable.json');
  } finally {
    await good.close();
    await missing.close();
  }
});

test('fetchFromAll asks the mirrors concurrently and passes each its own validators', async () => {
  let inFlight = 0;
  let most = 0;
  const slow = async (mirror: string): Promise<Buffer> => {
    inFlight += 1;
    most = Math.max(most, inFlight);
    await new Promise((resolve) => setTimeout(resolve, 30));
    inFlight -= 1;
    return Buffer.from(mirror);
  };
  const seen: Array<string | undefined> = [];
  const client: MirrorClient = {
    async fetchDocument(mirror, _path, _max, conditional) {
      seen.push(conditional?.etag);
      return { bytes: await slow(mirror) };
    },
    async downloadArtifact() { throw new Error('not used'); },
  };
  const answers = await fetchFromAll(['http://a', 'http://b', 'http://c'], 'x.json', 10, client, (m) => ({ etag: `"${m}"` }));
  assert.is(most, 3);
  assert.equal(seen, ['"http://a"', '"http://b"', '"http://c"']);
  assert.ok(answers.every((a) => a.ok));
});

test('fetchFromAll turns an unexpected throw into an internal error answer', async () => {
  const client: MirrorClient = {
    async fetchDocument() { throw new RangeError('bug'); },
    async downloadArtifact() { throw new Error('not used'); },
  };
  const [answer] = await fetchFromAll(['http://a'], 'x.json', 10, client);
  assert.ok(!answer.ok && answer.error.code === 'internal' && /bug/.test(answer.error.message));
});

test('downloadFromFirstGood moves to the second mirror after a tampered first', async () => {
  const tmp = tempDir();
  const tampered = Buffer.from(artifact);
  tampered[0] ^= 1;
  const bad = await serve(fileHandler(tampered));
  const good = await serve(fileHandler(artifact));
  try {
    const dest = join(tmp.path, 'bundle.tar.gz');
    const log = recordingLogger();
    const served = await downloadFromFirstGood([bad.url, good.url], 'demo.tar.gz', expect, dest, createMirrorClient(quick), log);
    assert.is(served, good.url);
    assert.ok(readFileSync(dest).equals(artifact));
    assert.is(good.requests[0].headers.range, undefined, 'the tampered part was deleted, not resumed');
    const warning = log.events.find((e) => e.level === 'warn');
    assert.ok(warning, 'the failed mirror is logged');
    assert.is(warning.event.result, 'hash');
    assert.is(warning.event.mirror, bad.url);
  } finally {
    await bad.close();
    await good.close();
    tmp.cleanup();
  }
});

test('downloadFromFirstGood prefers a refusal over unreachable when all mirrors fail', async () => {
  const tmp = tempDir();
  const tampered = Buffer.from(artifact);
  tampered[10] ^= 1;
  const bad = await serve(fileHandler(tampered));
  const refused = `http://127.0.0.1:${await freePort()}`;
  try {
    const dest = join(tmp.path, 'bundle.tar.gz');
    const err = await rejectsWithCode(downloadFromFirstGood([bad.url, refused], 'demo.tar.gz', expect, dest, createMirrorClient(quick)), 'hash');
    assert.is(err.exitCode, 3);
    assert.ok(err.message.includes(`${bad.url}: expected sha256`) && err.message.includes(`${refused}: `), err.message);
    assert.is(err.where.file, 'demo.tar.gz');
    assert.not.ok(existsSync(dest));
  } finally {
    await bad.close();
    tmp.cleanup();
  }
});

test('downloadFromFirstGood reports the first failure (exit 4) when no mirror answers, naming both', async () => {
  const tmp = tempDir();
  const missing = await serve((_req, res) => res.writeHead(404).end());
  const refused = `http://127.0.0.1:${await freePort()}`;
  try {
    const dest = join(tmp.path, 'bundle.tar.gz');
    const err = await rejectsWithCode(downloadFromFirstGood([refused, missing.url], 'demo.tar.gz', expect, dest, createMirrorClient(quick)), 'unreachable');
    assert.is(err.exitCode, 4);
    assert.ok(err.message.includes(`${refused}: `) && err.message.includes(`${missing.url}: `), err.message);
    await rejectsWithCode(downloadFromFirstGood([], 'demo.tar.gz', expect, dest, createMirrorClient(quick)), 'config');
  } finally {
    await missing.close();
    tmp.cleanup();
  }
});

test('downloadFromFirstGood does not try other mirrors after an internal error', async () => {
  let calls = 0;
  const client: MirrorClient = {
    async fetchDocument() { throw new Error('not used'); },
    async downloadArtifact() {
      calls += 1;
      throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    },
  };
  try {
    await downloadFromFirstGood(['http://a', 'http://b'], 'x', expect, '/nonexistent/x', client);
    assert.unreachable('should throw');
  } catch (err) {
    assert.not.instance(err, TideError);
    assert.match((err as Error).message, /ENOSPC/);
  }
  assert.is(calls, 1);
});

const at = (mirror: string, code: 'hash' | 'size' | 'timeout' | 'not-found', message: string): TideError =>
  new TideError(code, message, { mirror, file: 'releases/1.1.0/demo.tar.gz' });

test('everyMirrorFailed: a refusal outranks a timeout, whichever mirror came first', () => {
  const timeout = at('http://a', 'timeout', 'expected a byte at least every 10000 ms, got none');
  const hash = at('http://b', 'hash', 'expected sha256 aa, got bb');
  for (const errors of [[timeout, hash], [hash, timeout]]) {
    const err = everyMirrorFailed(errors, 'releases/1.1.0/demo.tar.gz');
    assert.is(err.code, 'hash');
    assert.is(err.exitCode, 3);
    assert.ok(err.message.includes('http://a: expected a byte at least every 10000 ms, got none'), err.message);
    assert.ok(err.message.includes('http://b: expected sha256 aa, got bb'), err.message);
    assert.not.match(err.message, /\n/);
    assert.equal(err.where, { file: 'releases/1.1.0/demo.tar.gz' });
  }
});

test('everyMirrorFailed: among equals the first mirror asked; one failure is reported as it is', () => {
  const size = at('http://a', 'size', 's');
  const hash = at('http://b', 'hash', 'h');
  const missing = at('http://c', 'not-found', 'n');
  const timeout = at('http://d', 'timeout', 't');
  assert.is(everyMirrorFailed([missing, size, hash], 'x').code, 'size');
  assert.is(everyMirrorFailed([timeout, missing], 'x').code, 'timeout');
  assert.is(everyMirrorFailed([missing], 'x'), missing);
  assert.is(everyMirrorFailed([], 'x').code, 'config');
});

test.run();
