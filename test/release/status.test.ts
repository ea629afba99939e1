// test-needs: network
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:http';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AddressInfo } from 'node:net';
import { promoteChannel } from '../../src/release/promote-channel.js';
import { publishTree } from '../../src/release/publish-tree.js';
import { mirrorStatus } from '../../src/release/mirror-status.js';
import { renderStatusTable, formatExpiresIn } from '../../src/release/status-table.js';
import { rejectsWithCode } from '../helpers/assert-error.js';
import { tempDir } from '../helpers/tmp.js';
import { day, makeKey, makeSignedRelease, type TestKey } from './release-fixtures.js';

const published = new Date('2026-11-23T10:00:00Z');

/** A tree with stable -> 1.0.0 (sequence 1) published to mirror a and b, then stable -> 1.1.0 (sequence 2) to a only. */
async function twoMirrors(work: string): Promise<{ a: string; b: string; key: TestKey; tree: string }> {
  const tree = join(work, 'tree');
  const key = await makeKey(join(work, 'keys'), 'release', published);
  await makeSignedRelease(tree, work, '1.0.0', key, published);
  await makeSignedRelease(tree, work, '1.1.0', key, published);
  await promoteChannel({ tree, app: 'demo', channel: 'stable', version: '1.0.0', signingKeys: [key.signing], now: published });
  await promoteChannel({ tree, app: 'demo', channel: 'beta', version: '1.1.0', signingKeys: [key.signing], now: published });
  const [a, b] = [join(work, 'mirror-a'), join(work, 'mirror-b')];
  mkdirSync(a);
  mkdirSync(b);
  await publishTree({ tree, mirrors: [a, b] });
  await promoteChannel({ tree, app: 'demo', channel: 'stable', version: '1.1.0', signingKeys: [key.signing], now: published });
  await publishTree({ tree, mirrors: [a] });
  return { a: pathToFileURL(a).href, b: pathToFileURL(b).href, key, tree };
}

/** A static file server over `root` on 127.0.0.1. */
async function serve(root: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url!, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = join(root, path);
    if (!existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

test('one row per mirror and channel; the mirror behind is named with both sequences', async () => {
  const tmp = tempDir();
  try {
    const { a, b, key } = await twoMirrors(tmp.path);
    const report = await mirrorStatus({ mirrors: [a, b], keyFiles: [key.publicPath], app: 'demo', now: new Date(published.getTime() + day) });
    assert.equal(report.rows.map((r) => [r.channel, r.mirror, r.version, r.sequence, r.valid, r.syncText]), [
      ['beta', a, '1.1.0', 1, true, 'yes'],
      ['beta', b, '1.1.0', 1, true, 'yes'],
      ['stable', a, '1.1.0', 2, true, 'yes'],
      ['stable', b, '1.0.0', 1, true, 'behind (seq 1 < 2)'],
    ]);
    assert.is(report.allInSync, false);
    assert.is(report.exitCode, 1, 'valid but out of sync');
    assert.is(report.rows[0]!.expiresInMs, 29 * day);
    const table = renderStatusTable(report).join('\n');
    assert.match(table, /MIRROR\s+CHANNEL\s+VERSION\s+SEQ\s+SIGNATURE\s+EXPIRES IN\s+IN SYNC/);
    assert.match(table, /stable\s+1\.0\.0\s+1\s+valid\s+29d\s+behind \(seq 1 < 2\)/);
    assert.match(table, /mirrors NOT in sync/);
  } finally {
    tmp.cleanup();
  }
});

test('all in sync once the other mirror is published: exit 0', async () => {
  const tmp = tempDir();
  try {
    const { a, b, key, tree } = await twoMirrors(tmp.path);
    await publishTree({ tree, mirrors: [new URL(b).pathname] });
    const report = await mirrorStatus({ mirrors: [a, b], keyFiles: [key.publicPath], now: published, channels: ['stable'] });
    assert.ok(report.rows.every((r) => r.sync === 'yes' && r.version === '1.1.0'));
    assert.is(report.allInSync, true);
    assert.is(report.exitCode, 0);
  } finally {
    tmp.cleanup();
  }
});

test('reads an http mirror (with --channel) and marks an unreachable one', async () => {
  const tmp = tempDir();
  const { url, server } = await serve(join(tmp.path, 'mirror-a'));
  const closed = await serve(tmp.path);
  const closedUrl = closed.url;
  await new Promise((resolve) => closed.server.close(resolve));
  try {
    const { b, key } = await twoMirrors(tmp.path);
    const report = await mirrorStatus({ mirrors: [url, b, closedUrl], keyFiles: [key.publicPath], channels: ['stable'], now: published });
    const [http, file, down] = report.rows;
    assert.equal([http!.version, http!.sequence, http!.sync], ['1.1.0', 2, 'yes']);
    assert.equal([file!.version, file!.sync], ['1.0.0', 'behind']);
    assert.is(down!.sync, 'unreachable');
    assert.is(down!.problem!.code, 'unreachable');
    assert.is(report.exitCode, 4, 'an unreachable mirror outranks one that is behind');
    assert.match(renderStatusTable(report).join('\n'), new RegExp(`${closedUrl} stable: unreachable: `));
  } finally {
    server.close();
    tmp.cleanup();
  }
});

test('a tampered pointer is not valid, does not count as the highest, and exits 3', async () => {
  const tmp = tempDir();
  try {
    const { a, b, key } = await twoMirrors(tmp.path);
    const pointerFile = join(new URL(b).pathname, 'channels', 'stable.json');
    writeFileSync(pointerFile, readFileSync(pointerFile, 'utf8').replace('"sequence": 1', '"sequence": 99'));
    const report = await mirrorStatus({ mirrors: [a, b], keyFiles: [key.publicPath], channels: ['stable'], now: published });
    const [good, bad] = report.rows;
    assert.is(good!.sync, 'yes', 'the forged sequence 99 does not make the good mirror look behind');
    assert.is(bad!.valid, false);
    assert.is(bad!.problem!.code, 'signature');
    assert.is(report.exitCode, 3);
    assert.match(renderStatusTable(report).join('\n'), /no \(signature\)/);
  } finally {
    tmp.cleanup();
  }
});

test('an expired pointer, a key that is not trusted and a missing channel', async () => {
  const tmp = tempDir();
  try {
    const { a, b, key } = await twoMirrors(tmp.path);
    const expired = await mirrorStatus({ mirrors: [a], keyFiles: [key.publicPath], channels: ['stable'], now: new Date(published.getTime() + 31 * day) });
    assert.is(expired.rows[0]!.expired, true);
    assert.is(formatExpiresIn(expired.rows[0]!.expiresInMs), 'expired 24h ago');
    assert.is(formatExpiresIn(30 * day - 1000), '29d');
    assert.is(formatExpiresIn(-3 * day - 5), 'expired 3d ago');
    assert.is(formatExpiresIn(90_000), '90s');
    assert.is(expired.exitCode, 3);
    const stranger = await makeKey(join(tmp.path, 'other-keys'), 'stranger', published);
    const untrusted = await mirrorStatus({ mirrors: [a], keyFiles: [stranger.publicPath], channels: ['stable'], now: published });
    assert.equal([untrusted.rows[0]!.valid, untrusted.rows[0]!.problem!.code, untrusted.exitCode], [false, 'signature', 3]);
    const missing = await mirrorStatus({ mirrors: [a, b], keyFiles: [key.publicPath], channels: ['gamma'], now: published });
    assert.ok(missing.rows.every((r) => r.sync === 'missing' && r.problem!.code === 'not-found'));
    assert.is(missing.exitCode, 4);
    const wrongApp = await mirrorStatus({ mirrors: [a], keyFiles: [key.publicPath], channels: ['stable'], app: 'other', now: published });
    assert.equal([wrongApp.rows[0]!.problem!.code, wrongApp.exitCode], ['wrong-app', 3]);
  } finally {
    tmp.cleanup();
  }
});

test('a pointer copied to another channel name is refused as the wrong channel', async () => {
  const tmp = tempDir();
  try {
    const { a, key } = await twoMirrors(tmp.path);
    const channels = join(new URL(a).pathname, 'channels');
    cpSync(join(channels, 'beta.json'), join(channels, 'stable.json'));
    cpSync(join(channels, 'beta.json.asc'), join(channels, 'stable.json.asc'));
    const report = await mirrorStatus({ mirrors: [a], keyFiles: [key.publicPath], channels: ['stable'], now: published });
    assert.equal([report.rows[0]!.problem!.code, report.exitCode], ['wrong-channel', 3]);
  } finally {
    tmp.cleanup();
  }
});

test('needs --channel when no file mirror lists channels', async () => {
  const tmp = tempDir();
  try {
    const key = await makeKey(join(tmp.path, 'keys'), 'k', published);
    const err = await rejectsWithCode(mirrorStatus({ mirrors: ['http://127.0.0.1:9/'], keyFiles: [key.publicPath] }), 'usage');
    assert.match(err.message, /--channel/);
    await rejectsWithCode(mirrorStatus({ mirrors: ['ftp://x/'], keyFiles: [key.publicPath], channels: ['stable'] }), 'config');
  } finally {
    tmp.cleanup();
  }
});

test.run();
