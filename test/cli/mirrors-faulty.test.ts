// test-needs: network
// Faulty mirrors at the CLI: the real `tide` binary against real HTTP servers on
// 127.0.0.1 that refuse connections, answer 404 or 500, stall after the headers,
// send endless bytes, serve a stale pointer or tampered bytes. One bad mirror never
// stops an update another mirror can serve; when none can, the exit code says why.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { serveMirrorDir, statusFault, type MirrorHttpServer } from '../helpers/mirror-http.js';
import { endlessHandler, stallHandler } from '../mirror/mirror-server.js';
import { freePort } from '../../scripts/lib/free-port.js';
import { tempDir } from '../helpers/tmp.js';
import { assertRefused, assertUntouched, installFirst, quickHealth, snapshotHost } from './refusal-checks.js';

const test = suite('faulty mirrors');
const pointer = 'channels/stable.json';
const bundle = (version: string) => `releases/${version}/demo-${version}.tar.gz`;

/** A second mirror: a directory served by its own HTTP server. */
async function secondMirror(): Promise<{ dir: string; server: MirrorHttpServer; stop(): Promise<void> }> {
  const tmp = tempDir('tide-mirror-b-');
  const server = await serveMirrorDir(tmp.path);
  return { dir: tmp.path, server, stop: async () => { await server.close(); tmp.cleanup(); } };
}

/** Copy the fixture's mirror tree to another mirror's directory, as a sync job would. */
function syncMirror(host: HostFixture, dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  cpSync(host.mirrorDir, dir, { recursive: true });
}

/** A host with an installed 1.0.0 whose only mirror is `mirror`; runs `tide update` and expects `expected`. */
async function onlyMirrorFails(
  fault: (host: HostFixture) => void,
  expected: { exit: number; code: string; message: RegExp; file: string },
  options: { pointerAccepted?: boolean } = {},
): Promise<void> {
  const host = await createHostFixture({ serve: 'http', health: quickHealth });
  try {
    await installFirst(host);
    await host.publish('1.1.0');
    const before = await snapshotHost(host);
    fault(host);
    const run = await host.tide(['update']);
    assertRefused(run, { ...expected, mirror: host.mirrorUrl });
    await assertUntouched(host, before, options);
  } finally {
    await host.cleanup();
  }
}

test('a mirror that refuses connections: exit 4 naming the mirror', async () => {
  const port = await freePort();
  const dead = `http://127.0.0.1:${port}`;
  const host = await createHostFixture({ health: quickHealth, mirrors: () => [dead] });
  try {
    const run = await host.tide(['update']);
    assertRefused(run, { exit: 4, code: 'unreachable', message: /expected an answer, got ECONNREFUSED/, mirror: dead, file: pointer });
    const check = await host.tide(['check']);
    assertRefused(check, { exit: 4, code: 'unreachable', message: /ECONNREFUSED/, mirror: dead });
  } finally {
    await host.cleanup();
  }
});

test('a mirror without the pointer (404): exit 4', () =>
  onlyMirrorFails((host) => rmSync(join(host.mirrorDir, pointer)), { exit: 4, code: 'not-found', message: /the mirror answers 404 Not Found/, file: pointer }));

test('a mirror that answers 500: exit 4', () =>
  onlyMirrorFails((host) => host.mirrorServer!.fault(pointer, statusFault(500)), { exit: 4, code: 'unreachable', message: /expected HTTP 200, got 500 Internal Server Error/, file: pointer }));

test('a mirror whose bundle is gone (404) after the pointer: exit 4, nothing installed', () =>
  onlyMirrorFails((host) => rmSync(join(host.mirrorDir, bundle('1.1.0'))), { exit: 4, code: 'not-found', message: /404/, file: bundle('1.1.0') }, { pointerAccepted: true }));

test('a mirror that stalls after the headers: exit 4 after the stall timeout', async () => {
  const host = await createHostFixture({ serve: 'http', health: quickHealth });
  try {
    await host.publish('1.0.0');
    host.mirrorServer!.fault(pointer, stallHandler({ 'content-type': 'application/json' }));
    const started = Date.now();
    const run = await host.tide(['update']);
    const took = Date.now() - started;
    assertRefused(run, { exit: 4, code: 'timeout', message: /expected a byte at least every 10000 ms, got none/, mirror: host.mirrorUrl, file: pointer });
    assert.ok(took < 25_000, `gave up after ${took} ms`);
  } finally {
    await host.cleanup();
  }
});

test('a mirror that sends an endless pointer: refused at 1 MiB (exit 3), having read a bounded amount', async () => {
  const endless = endlessHandler({ 'content-type': 'application/octet-stream' });
  await onlyMirrorFails((host) => host.mirrorServer!.fault(pointer, endless), { exit: 3, code: 'size', message: /at most 1048576 bytes, got more/, file: pointer });
  assert.ok(endless.sent() < 16 * 1024 * 1024, `the server got rid of ${endless.sent()} bytes`);
});

test('a mirror that sends the bundle and then endless bytes: refused at the signed size (exit 3)', async () => {
  await onlyMirrorFails((host) => {
    host.mirrorServer!.fault(bundle('1.1.0'), endlessHandler({ 'content-type': 'application/octet-stream' }, readFileSync(join(host.mirrorDir, bundle('1.1.0')))));
  }, { exit: 3, code: 'size', message: /expected \d+ bytes, the mirror sent more/, file: bundle('1.1.0') }, { pointerAccepted: true });
});

test('the valid pointer with the highest sequence wins: a stale mirror is outvoted', async () => {
  const b = await secondMirror();
  const host = await createHostFixture({ serve: 'http', health: quickHealth, mirrors: (own) => [own, b.server.url] });
  try {
    await installFirst(host);
    syncMirror(host, b.dir);
    // Mirror A gets 1.1.0; mirror B stays on the old pointer.
    await host.publish('1.1.0');
    const run = await host.tide(['update']);
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.is(await host.serving(), 'demo 1.1.0');
    assert.is(host.stateJson().sequences.stable, 2);
    // Now B is newer and A is stale: B's pointer wins, and B serves the download.
    const aTree = tempDir('tide-mirror-a-copy-');
    try {
      cpSync(host.mirrorDir, aTree.path, { recursive: true });
      await host.publish('1.2.0');
      syncMirror(host, b.dir);
      rmSync(host.mirrorDir, { recursive: true, force: true });
      cpSync(aTree.path, host.mirrorDir, { recursive: true });
    } finally {
      aTree.cleanup();
    }
    const second = await host.tide(['update']);
    assert.is(second.code, 0, second.stdout + second.stderr);
    assert.is(await host.serving(), 'demo 1.2.0');
    assert.ok(b.server.requests.includes(bundle('1.2.0')), 'the bundle came from the mirror with the newest pointer');
  } finally {
    await host.cleanup();
    await b.stop();
  }
});

test('tampered bytes on the first mirror: the bundle is downloaded from the second', async () => {
  const b = await secondMirror();
  const host = await createHostFixture({ serve: 'http', health: quickHealth, mirrors: (own) => [own, b.server.url] });
  try {
    await installFirst(host);
    await host.publish('1.1.0');
    syncMirror(host, b.dir);
    const path = join(host.mirrorDir, bundle('1.1.0'));
    const bytes = readFileSync(path);
    bytes[bytes.length - 30] ^= 0x55;
    writeFileSync(path, bytes);
    const run = await host.tide(['update']);
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stderr, new RegExp(`mirror ${host.mirrorUrl} failed for ${bundle('1.1.0')}: expected sha256`));
    assert.is(await host.serving(), 'demo 1.1.0');
    assert.is(readlinkSync(join(host.stateDir, 'current')), 'versions/1.1.0');
    assert.ok(b.server.requests.includes(bundle('1.1.0')));
  } finally {
    await host.cleanup();
    await b.stop();
  }
});

test('refused, 500 and endless mirrors before a good one: the update goes through', async () => {
  const good = await secondMirror();
  const dead = `http://127.0.0.1:${await freePort()}`;
  const host = await createHostFixture({ serve: 'http', health: quickHealth, mirrors: (own) => [dead, own, good.server.url] });
  try {
    await host.publish('1.0.0');
    syncMirror(host, good.dir);
    // The fixture's own mirror: 500 for the pointer, endless bytes for its signature.
    host.mirrorServer!.fault(pointer, statusFault(500));
    host.mirrorServer!.fault(`${pointer}.asc`, endlessHandler({ 'content-type': 'application/octet-stream' }));
    const run = await host.tide(['update']);
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.is(await host.serving(), 'demo 1.0.0');
    assert.match(run.stderr, new RegExp(`mirror ${dead}: .*ECONNREFUSED`));
    assert.match(run.stderr, new RegExp(`mirror ${host.mirrorUrl}: .*(500|1048576|65536)`));
  } finally {
    await host.cleanup();
    await good.stop();
  }
});

test('a bundle missing (404) on the first mirror is downloaded from the second', async () => {
  const b = await secondMirror();
  const host = await createHostFixture({ serve: 'http', health: quickHealth, mirrors: (own) => [own, b.server.url] });
  try {
    await host.publish('1.0.0');
    syncMirror(host, b.dir);
    rmSync(join(host.mirrorDir, bundle('1.0.0')));
    const run = await host.tide(['update']);
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stderr, /404/, run.stderr);
    assert.is(await host.serving(), 'demo 1.0.0');
    assert.ok(host.mirrorServer!.requests.includes(bundle('1.0.0')), 'the first mirror was asked first');
    assert.ok(b.server.requests.includes(bundle('1.0.0')));
  } finally {
    await host.cleanup();
    await b.stop();
  }
});

test('every mirror down: exit 4 with every mirror named', async () => {
  const dead = `http://127.0.0.1:${await freePort()}`;
  const host = await createHostFixture({ serve: 'http', health: quickHealth, mirrors: (own) => [dead, own] });
  try {
    host.mirrorServer!.fault(pointer, statusFault(503));
    const run = await host.tide(['update']);
    assert.is(run.code, 4, run.stderr);
    const line = run.stderr.trim().split('\n').at(-1)!;
    assert.ok(line.includes(dead) && line.includes(host.mirrorUrl), line);
    assert.match(line, /ECONNREFUSED/);
    assert.match(line, /503/);
  } finally {
    await host.cleanup();
  }
});

test.run();
