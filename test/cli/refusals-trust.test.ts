// test-needs: network
// Every signature refusal of the spec, through the real `tide` binary against a
// mirror served by a real HTTP server on 127.0.0.1: exit 3, one line naming the
// mirror and the file, and the running version untouched.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHostFixture } from '../helpers/host-fixture.js';
import { makeKey } from '../helpers/keys.js';
import { assertRefused, assertUntouched, installFirst, quickHealth, snapshotHost } from './refusal-checks.js';

const test = suite('refusals: signatures');
const pointer = 'channels/stable.json';

test('refuses a pointer signed by an untrusted key', async () => {
  const host = await createHostFixture({ serve: 'http', health: quickHealth });
  try {
    await installFirst(host);
    const before = await snapshotHost(host);
    const stranger = await makeKey('stranger');
    await host.publish('1.1.0', 'good', { signers: [stranger] });
    const run = await host.tide(['update']);
    const strangerKeyId = stranger.fingerprint.slice(-16);
    assertRefused(run, { exit: 3, code: 'signature', message: new RegExp(`no valid signature by a trusted key; found a signature by key ID ${strangerKeyId}, which is not trusted`), mirror: host.mirrorUrl, file: pointer });
    await assertUntouched(host, before);
  } finally {
    await host.cleanup();
  }
});

test('refuses pointer bytes changed after signing', async () => {
  const host = await createHostFixture({ serve: 'http', health: quickHealth });
  try {
    await installFirst(host);
    const before = await snapshotHost(host);
    await host.publish('1.1.0');
    const path = join(host.mirrorDir, pointer);
    writeFileSync(path, readFileSync(path, 'utf8').replace('"sequence": 2', '"sequence": 9'));
    assert.match(readFileSync(path, 'utf8'), /"sequence": 9/);
    const run = await host.tide(['update']);
    assertRefused(run, { exit: 3, code: 'signature', message: new RegExp(`no valid signature by a trusted key; found a signature by trusted key ${host.key.fingerprint} that does not match these bytes`), mirror: host.mirrorUrl, file: pointer });
    await assertUntouched(host, before);
  } finally {
    await host.cleanup();
  }
});

test('refuses a manifest signed by an untrusted key under a valid pointer', async () => {
  const host = await createHostFixture({ serve: 'http', health: quickHealth });
  try {
    await installFirst(host);
    const before = await snapshotHost(host);
    await host.publish('1.1.0');
    await host.sign('releases/1.1.0/manifest.json', [await makeKey('stranger')]);
    const run = await host.tide(['update']);
    assertRefused(run, { exit: 3, code: 'signature', message: /no valid signature by a trusted key/, mirror: host.mirrorUrl, file: 'releases/1.1.0/manifest.json' });
    // The pointer itself was valid: its sequence may be remembered; nothing else changes.
    await assertUntouched(host, before, { pointerAccepted: true });
  } finally {
    await host.cleanup();
  }
});

test('refuses a pointer below the threshold (threshold = 2, one signature), installs with two', async () => {
  const host = await createHostFixture({ serve: 'http', health: quickHealth, trustedKeys: 2, threshold: 2 });
  try {
    await host.publish('1.0.0', 'good', { signers: host.keys });
    const first = await host.tide(['update']);
    assert.is(first.code, 0, first.stderr);
    const before = await snapshotHost(host);
    await host.publish('1.1.0', 'good', { signers: [host.keys[1]!] });
    const run = await host.tide(['update']);
    assertRefused(run, { exit: 3, code: 'threshold', message: /1 trusted key\(s\) signed, the threshold is 2/, mirror: host.mirrorUrl, file: pointer });
    await assertUntouched(host, before);
  } finally {
    await host.cleanup();
  }
});

test('ignores a signature by a revoked key', async () => {
  const host = await createHostFixture({ serve: 'http', health: quickHealth, trustedKeys: 2 });
  try {
    await installFirst(host);
    const [keyA, keyB] = host.keys;
    // The second key leaked: the first key revokes it.
    await host.revoke({ keys: [keyB!.fingerprint.toUpperCase()], signers: [keyA!] });
    await host.publish('1.1.0', 'good', { signers: [keyB!] });
    const before = await snapshotHost(host);
    const run = await host.tide(['update']);
    assertRefused(run, { exit: 3, code: 'signature', message: /no valid signature by a trusted key; found a signature by revoked key [0-9a-f]{40} \(ignored\)/, mirror: host.mirrorUrl, file: pointer });
    const after = await snapshotHost(host);
    assert.equal(after.tree, before.tree);
    assert.is(after.served, 'demo 1.0.0');
    assert.equal(after.sequences, before.sequences, 'a refused pointer does not raise the accepted sequence');
    // The same release signed by the key still trusted installs.
    await host.publish('1.1.0', 'good', { signers: [keyA!], sequence: 3 });
    const good = await host.tide(['update']);
    assert.is(good.code, 0, good.stderr);
    assert.is(await host.serving(), 'demo 1.1.0');
  } finally {
    await host.cleanup();
  }
});

test('ignores a revocations list signed by an untrusted key', async () => {
  const host = await createHostFixture({ serve: 'http', health: quickHealth });
  try {
    await installFirst(host);
    // A forged list would stop every update if it counted.
    await host.revoke({ versions: ['1.1.0'], keys: [host.key.fingerprint], signers: [await makeKey('forger')] });
    await host.publish('1.1.0');
    const run = await host.tide(['update']);
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stderr, /ignored revocations: no valid signature by a trusted key/);
    assert.is(await host.serving(), 'demo 1.1.0');
    assert.equal(host.stateJson().revocations.versions, []);
  } finally {
    await host.cleanup();
  }
});

test('a mirror cannot take a revocation back by serving an older revocations list', async () => {
  const host = await createHostFixture({ serve: 'http', health: quickHealth });
  try {
    await installFirst(host);
    await host.revoke({ versions: [], sequence: 1 });
    const path = join(host.mirrorDir, 'revocations.json');
    const older = { json: readFileSync(path), asc: readFileSync(`${path}.asc`) };
    await host.revoke({ versions: ['1.1.0'], sequence: 2 });
    await host.publish('1.1.0');
    const refused = await host.tide(['update']);
    assertRefused(refused, { exit: 3, code: 'revoked', message: /version 1\.1\.0 is revoked/, file: pointer });
    // The mirror goes back to the list without 1.1.0 (validly signed, sequence 1).
    writeFileSync(path, older.json);
    writeFileSync(`${path}.asc`, older.asc);
    const before = await snapshotHost(host);
    const again = await host.tide(['update']);
    assertRefused(again, { exit: 3, code: 'revoked', message: /version 1\.1\.0 is revoked/, file: pointer });
    await assertUntouched(host, before);
  } finally {
    await host.cleanup();
  }
});

test('--force never bypasses a signature', async () => {
  const host = await createHostFixture({ serve: 'http', health: quickHealth });
  try {
    await installFirst(host);
    const before = await snapshotHost(host);
    await host.publish('1.1.0', 'good', { signers: [await makeKey('stranger')] });
    const run = await host.tide(['update', '--force']);
    assertRefused(run, { exit: 3, code: 'signature', message: /no valid signature by a trusted key/, mirror: host.mirrorUrl, file: pointer });
    await assertUntouched(host, before);
    const pinned = await host.tide(['update', '--force', '--version', '1.1.0']);
    assertRefused(pinned, { exit: 3, code: 'signature', message: /no valid signature/, mirror: host.mirrorUrl, file: 'releases/1.1.0/manifest.json' });
    await assertUntouched(host, before);
  } finally {
    await host.cleanup();
  }
});

test.run();
