// test-needs: network
// Every refusal of a signed document in the spec (Channel pointer, Release manifest,
// Revocations), through the real `tide` binary against a mirror served by a real
// HTTP server on 127.0.0.1: exit 3, the one line, and the running version untouched.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { assertRefused, assertUntouched, installFirst, quickHealth, snapshotHost } from './refusal-checks.js';

const test = suite('refusals: documents');
const pointer = 'channels/stable.json';
const manifest = (version: string) => `releases/${version}/manifest.json`;

const httpHost = () => createHostFixture({ serve: 'http', health: quickHealth });

/** Install 1.0.0, publish 1.1.0 as `publish` says, run `tide update`, expect the refusal, check nothing changed. */
async function refusedUpdate(
  publish: (host: HostFixture) => Promise<void>,
  expected: { code: string; message: RegExp; file: string },
  args: string[] = ['update'],
  untouched: { pointerAccepted?: boolean } = {},
): Promise<void> {
  const host = await httpHost();
  try {
    await installFirst(host);
    const before = await snapshotHost(host);
    await publish(host);
    const run = await host.tide(args);
    assertRefused(run, { exit: 3, ...expected, mirror: host.mirrorUrl });
    // A refused manifest under a valid pointer: the pointer's sequence may be remembered.
    await assertUntouched(host, before, { pointerAccepted: untouched.pointerAccepted ?? !expected.file.startsWith(pointer) });
  } finally {
    await host.cleanup();
  }
}

test('refuses a manifest whose size is not the one the pointer names', () =>
  refusedUpdate(async (host) => {
    await host.publish('1.1.0');
    // A validly signed manifest, one byte shorter than the pointer says.
    const path = join(host.mirrorDir, manifest('1.1.0'));
    writeFileSync(path, readFileSync(path, 'utf8').replace(/\n}$/, '}'));
    await host.sign(manifest('1.1.0'));
  }, { code: 'size', message: /manifest is \d+ bytes, the channel pointer says \d+/, file: manifest('1.1.0') }));

test('refuses a manifest whose sha256 is not the one the pointer names', () =>
  refusedUpdate(async (host) => {
    await host.publish('1.1.0');
    const path = join(host.mirrorDir, manifest('1.1.0'));
    // Same length, other bytes, validly signed: only the pointer's sha256 can tell.
    const changed = readFileSync(path, 'utf8').replace('"schema": 1,\n', '"schema":1, \n');
    assert.is(changed.length, readFileSync(path, 'utf8').length);
    writeFileSync(path, changed);
    await host.sign(manifest('1.1.0'));
  }, { code: 'hash', message: /manifest sha256 is [0-9a-f]{64}, the channel pointer says [0-9a-f]{64}/, file: manifest('1.1.0') }));

test('refuses an expired pointer', () =>
  refusedUpdate(
    (host) => host.publish('1.1.0', 'good', { expires: new Date(Date.now() - 60_000).toISOString() }),
    { code: 'expired', message: /channel pointer expired at \d{4}-/, file: pointer },
  ));

test('refuses a pointer for another app', () =>
  refusedUpdate(
    (host) => host.publish('1.1.0', 'good', { pointerFields: { app: 'other' } }),
    { code: 'wrong-app', message: /pointer is for app "other", this host runs "demo"/, file: pointer },
  ));

test('refuses a manifest for another app', () =>
  refusedUpdate(
    (host) => host.publish('1.1.0', 'good', { manifestFields: { app: 'other' } }),
    { code: 'wrong-app', message: /manifest is for app "other", expected "demo"/, file: manifest('1.1.0') },
  ));

test('refuses a pointer for another channel served as this channel', () =>
  refusedUpdate(
    (host) => host.publish('1.1.0', 'good', { pointerFields: { channel: 'beta' } }),
    { code: 'wrong-channel', message: /pointer is for channel "beta", expected "stable"/, file: pointer },
  ));

test('refuses a pointer with an unknown schema', () =>
  refusedUpdate(
    (host) => host.publish('1.1.0', 'good', { pointerFields: { schema: 2 } }),
    { code: 'schema', message: /channel pointer has schema 2, this tide reads schema 1/, file: pointer },
  ));

test('refuses a manifest with an unknown schema', () =>
  refusedUpdate(
    (host) => host.publish('1.1.0', 'good', { manifestFields: { schema: 2 } }),
    { code: 'schema', message: /release manifest has schema 2, this tide reads schema 1/, file: manifest('1.1.0') },
  ));

test('refuses a manifest artifact path that climbs out of the release', () =>
  refusedUpdate(async (host) => {
    await host.publish('1.1.0');
    const path = join(host.mirrorDir, manifest('1.1.0'));
    const document = JSON.parse(readFileSync(path, 'utf8'));
    document.artifacts[0].path = '../../channels/stable.json';
    await host.publish('1.1.0', 'good', { manifestFields: { artifacts: document.artifacts } });
  }, { code: 'schema', message: /release manifest field artifacts\.0\.path: a relative path without "\.\." or empty parts/, file: manifest('1.1.0') }));

test('refuses a manifest without exactly one bundle', () =>
  refusedUpdate(async (host) => {
    await host.publish('1.1.0');
    const document = JSON.parse(readFileSync(join(host.mirrorDir, manifest('1.1.0')), 'utf8'));
    const second = { ...document.artifacts[0], path: 'second.tar.gz' };
    await host.publish('1.1.0', 'good', { manifestFields: { artifacts: [document.artifacts[0], second] } });
  }, { code: 'schema', message: /exactly one bundle artifact/, file: manifest('1.1.0') }));

test('verifies the signature over the raw bytes before parsing them', () =>
  refusedUpdate(async (host) => {
    await host.publish('1.1.0');
    // Not JSON at all: the signature check must be what refuses it, not the JSON parser.
    writeFileSync(join(host.mirrorDir, pointer), '{ this is not json');
  }, { code: 'signature', message: /no valid signature by a trusted key/, file: pointer }));

test('refuses signed bytes that are not JSON', () =>
  refusedUpdate(async (host) => {
    await host.publish('1.1.0');
    writeFileSync(join(host.mirrorDir, pointer), '{ this is not json');
    await host.sign(pointer);
  }, { code: 'schema', message: /channel pointer is not valid JSON/, file: pointer }));

test('ignores unknown fields in a signed pointer and manifest', async () => {
  const host = await httpHost();
  try {
    await host.publish('1.0.0', 'good', { pointerFields: { comment: 'hello', future: { x: 1 } }, manifestFields: { notes: 'n' } });
    const run = await host.tide(['update']);
    assert.is(run.code, 0, run.stderr);
    assert.is(await host.serving(), 'demo 1.0.0');
  } finally {
    await host.cleanup();
  }
});

test('refuses a pointer over 1 MiB without reading further', () =>
  refusedUpdate(
    (host) => host.publish('1.1.0', 'good', { pointerFields: { padding: 'x'.repeat(1024 * 1024) } }),
    { code: 'size', message: /at most 1048576 bytes/, file: pointer },
  ));

test('refuses a signature file over 64 KiB', () =>
  refusedUpdate(async (host) => {
    await host.publish('1.1.0');
    writeFileSync(join(host.mirrorDir, `${pointer}.asc`), readFileSync(join(host.mirrorDir, `${pointer}.asc`), 'utf8') + '\n'.repeat(70 * 1024));
  }, { code: 'size', message: /at most 65536 bytes/, file: `${pointer}.asc` }));

test('refuses a lower sequence than the one accepted (a stale mirror), and keeps the higher one', async () => {
  const host = await httpHost();
  try {
    await installFirst(host);
    const path = join(host.mirrorDir, pointer);
    const stale = { json: readFileSync(path), asc: readFileSync(`${path}.asc`) };
    await host.publish('1.1.0');
    const check = await host.tide(['check']);
    assert.is(check.code, 100, check.stderr);
    assert.is(host.stateJson().sequences.stable, 2);
    const before = await snapshotHost(host);
    // The mirror goes back to the old pointer (signed, not expired, sequence 1).
    writeFileSync(path, stale.json);
    writeFileSync(`${path}.asc`, stale.asc);
    const run = await host.tide(['update']);
    assertRefused(run, { exit: 3, code: 'sequence', message: /sequence 1, this host already accepted 2/, mirror: host.mirrorUrl, file: pointer });
    await assertUntouched(host, before);
    assert.is(host.stateJson().sequences.stable, 2);
  } finally {
    await host.cleanup();
  }
});

test('refuses a downgrade', async () => {
  const host = await httpHost();
  try {
    await installFirst(host, '1.1.0');
    await host.publish('1.0.0');
    const before = await snapshotHost(host);
    const run = await host.tide(['update']);
    assertRefused(run, { exit: 3, code: 'downgrade', message: /channel names 1\.0\.0, older than the current 1\.1\.0/, mirror: host.mirrorUrl, file: pointer });
    await assertUntouched(host, before, { pointerAccepted: true });
  } finally {
    await host.cleanup();
  }
});

test('refuses a revoked version, even with --force', async () => {
  const host = await httpHost();
  try {
    await installFirst(host);
    await host.revoke({ versions: ['1.1.0'] });
    await host.publish('1.1.0');
    const before = await snapshotHost(host);
    for (const args of [['update'], ['update', '--force']]) {
      const run = await host.tide(args);
      assertRefused(run, { exit: 3, code: 'revoked', message: /version 1\.1\.0 is revoked/, mirror: host.mirrorUrl, file: pointer });
      await assertUntouched(host, before, { pointerAccepted: true });
    }
  } finally {
    await host.cleanup();
  }
});

test('refuses a version revoked after this host saw its pointer, the pointer unchanged', async () => {
  const host = await httpHost();
  try {
    await installFirst(host);
    await host.publish('1.1.0');
    const check = await host.tide(['check']);
    assert.is(check.code, 100, check.stderr);
    // The release engineer revokes 1.1.0 before every host took it; the channel is not re-pointed yet.
    await host.revoke({ versions: ['1.1.0'] });
    const before = await snapshotHost(host);
    const run = await host.tide(['update']);
    assertRefused(run, { exit: 3, code: 'revoked', message: /version 1\.1\.0 is revoked/, mirror: host.mirrorUrl, file: pointer });
    await assertUntouched(host, before);
  } finally {
    await host.cleanup();
  }
});

test('a host whose current version is revoked moves to the channel\'s older release', async () => {
  const host = await httpHost();
  try {
    await installFirst(host);
    await host.publish('1.1.0');
    assert.is((await host.tide(['update'])).code, 0);
    assert.is(await host.serving(), 'demo 1.1.0');
    // The recall: 1.1.0 is revoked and the channel goes back to 1.0.0.
    await host.revoke({ versions: ['1.1.0'] });
    await host.publish('1.0.0');
    const check = await host.tide(['check']);
    assert.is(check.code, 100, check.stdout + check.stderr);
    assert.match(check.stdout, /1\.1\.0 is revoked/);
    const run = await host.tide(['update']);
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.is(await host.serving(), 'demo 1.0.0');
    assert.is(readlinkSync(join(host.stateDir, 'current')), 'versions/1.0.0');
  } finally {
    await host.cleanup();
  }
});

test('ignores an expired revocations list with a warning; the signed channel still updates', async () => {
  const host = await httpHost();
  try {
    await installFirst(host);
    await host.revoke({ versions: ['1.1.0'], expires: new Date(Date.now() - 1000).toISOString() });
    await host.publish('1.1.0');
    const run = await host.tide(['update']);
    // SPEC formats.md#revocations: an expired list is not trusted; the signed channel still is.
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stderr, /ignored revocations: revocations expired/);
    assert.is(await host.serving(), 'demo 1.1.0');
  } finally {
    await host.cleanup();
  }
});

test.run();
