// The trust store's rules for revocations, channel pointers and manifests, fed bytes only.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TideError } from '../../src/errors.js';
import { makeKey } from '../helpers/keys.js';
import { rejectsWithCode, throwsWithCode } from '../helpers/assert-error.js';
import { inDays, manifestDocument, pointerDocument, revocationsDocument, rootOf, sha256, signed, skipToPointer, storeFor, testKeys } from './trust-fixtures.js';

const atPointer = async (over: Parameters<typeof storeFor>[0] = {}) => skipToPointer(await storeFor(over));
const m = manifestDocument();

// --- revocations

test('merges the newest valid revocations into what was accepted (a union)', async () => {
  const [a, b] = await testKeys();
  const store = await storeFor({ revocations: { sequence: 1, versions: ['0.9.0'], keys: [] } });
  store.finishRoots();
  await store.offerRevocations(await signed(revocationsDocument(2, { versions: ['1.0.0'] }), [a!]));
  await store.offerRevocations(await signed(revocationsDocument(3, { keys: [b!.fingerprint.toUpperCase()] }), [a!]));
  assert.equal(store.settleRevocations(), { sequence: 3, versions: ['0.9.0'], keys: [b!.fingerprint], root: 1 });
});

test('refuses revocations: untrusted signer, lower sequence, expired, another app', async () => {
  const [a] = await testKeys();
  const store = await storeFor({ revocations: { sequence: 5, versions: [], keys: [] } });
  store.finishRoots();
  await rejectsWithCode(store.offerRevocations(await signed(revocationsDocument(6), [await makeKey('forger')])), 'signature');
  await rejectsWithCode(store.offerRevocations(await signed(revocationsDocument(4), [a!])), 'sequence');
  await rejectsWithCode(store.offerRevocations(await signed(revocationsDocument(6, { expires: inDays(-1) }), [a!])), 'expired');
  await rejectsWithCode(store.offerRevocations(await signed(revocationsDocument(6, { app: 'other' }), [a!])), 'wrong-app');
  assert.is(store.settleRevocations().sequence, 5);
});

test('ignores signatures by a key revoked in this run', async () => {
  const [a, b] = await testKeys();
  const store = await storeFor({ root: rootOf([a!, b!]) });
  store.finishRoots();
  await store.offerRevocations(await signed(revocationsDocument(1, { keys: [b!.fingerprint] }), [a!]));
  store.settleRevocations();
  const err = await rejectsWithCode(store.offerPointer(await signed(pointerDocument(1, m), [b!])), 'signature');
  assert.match(err.message, /revoked key .* \(ignored\)/);
});

// --- channel pointer

test('accepts a valid pointer and remembers its sequence, sha256 and root', async () => {
  const [a] = await testKeys();
  const store = await atPointer();
  const answer = await signed(pointerDocument(4, m), [a!], 'm1');
  await store.offerPointer(answer);
  const settled = store.settlePointer();
  assert.equal([settled.pointer.version, settled.mirrors], ['1.1.0', ['m1']]);
  assert.equal(store.remembered().accepted.stable, { sequence: 4, sha256: sha256(answer.bytes), root: 1 });
});

test('refuses a pointer: untrusted signer, changed bytes, below the threshold', async () => {
  const [a, b] = await testKeys();
  const store = await atPointer({ root: rootOf([a!, b!], 2) });
  await rejectsWithCode(store.offerPointer(await signed(pointerDocument(1, m), [await makeKey('stranger')])), 'signature');
  const good = await signed(pointerDocument(1, m), [a!, b!]);
  await rejectsWithCode(store.offerPointer({ ...good, bytes: pointerDocument(2, m) }), 'signature');
  await rejectsWithCode(store.offerPointer(await signed(pointerDocument(1, m), [a!])), 'threshold');
  await store.offerPointer(good);
});

test('refuses a pointer: expired, another app, another channel, unknown schema, not JSON', async () => {
  const [a] = await testKeys();
  const store = await atPointer();
  await rejectsWithCode(store.offerPointer(await signed(pointerDocument(1, m, { expires: inDays(-1 / 1440) }), [a!])), 'expired');
  await rejectsWithCode(store.offerPointer(await signed(pointerDocument(1, m, { app: 'other' }), [a!])), 'wrong-app');
  await rejectsWithCode(store.offerPointer(await signed(pointerDocument(1, m, { channel: 'beta' }), [a!])), 'wrong-channel');
  await rejectsWithCode(store.offerPointer(await signed(pointerDocument(1, m, { schema: 2 }), [a!])), 'schema');
  await rejectsWithCode(store.offerPointer(await signed(Buffer.from('{"schema":1,'), [a!])), 'schema');
});

test('refuses a pointer over 1 MiB and a signature over 64 KiB', async () => {
  const [a] = await testKeys();
  const store = await atPointer();
  await rejectsWithCode(store.offerPointer({ bytes: Buffer.alloc(1024 * 1024 + 1, 0x20), asc: '' }), 'size');
  const good = await signed(pointerDocument(1, m), [a!]);
  await rejectsWithCode(store.offerPointer({ ...good, asc: good.asc + '\n'.repeat(64 * 1024) }), 'size');
});

test('refuses a lower sequence than the accepted one; the same pointer again is fine', async () => {
  const [a] = await testKeys();
  const same = await signed(pointerDocument(5, m), [a!], 'm1');
  const store = await atPointer({ accepted: { stable: { sequence: 5, sha256: sha256(same.bytes), root: 1 } } });
  const err = await rejectsWithCode(store.offerPointer(await signed(pointerDocument(4, m), [a!])), 'sequence');
  assert.match(err.message, /sequence 4, this host already accepted 5/);
  await store.offerPointer(same);
  assert.is(store.settlePointer().pointer.sequence, 5);
});

test('equivocation: the accepted sequence with other bytes is refused', async () => {
  const [a] = await testKeys();
  const accepted = { stable: { sequence: 5, sha256: sha256(pointerDocument(5, m)), root: 1 } };
  const store = await atPointer({ accepted });
  const other = await signed(pointerDocument(5, manifestDocument('1.2.0'), { version: '1.2.0' }), [a!], 'm1');
  const err = await rejectsWithCode(store.offerPointer(other), 'equivocation');
  assert.match(err.message, /sequence 5, which this host already accepted with other bytes .*version 1\.2\.0\): equivocation/);
  assert.equal(err.where, { mirror: 'm1', file: 'channels/stable.json' });
  // A state file from before sha256s were kept: the same sequence is accepted, and its sha256 remembered.
  const old = await atPointer({ accepted: { stable: { sequence: 5, sha256: null, root: 1 } } });
  await old.offerPointer(other);
  old.settlePointer();
  assert.is(old.remembered().accepted.stable?.sha256, sha256(other.bytes));
});

test('equivocation: two mirrors with different valid pointers at the highest sequence are both refused', async () => {
  const [a] = await testKeys();
  const store = await atPointer();
  await store.offerPointer(await signed(pointerDocument(3, m), [a!], 'http://a'));
  await store.offerPointer(await signed(pointerDocument(3, manifestDocument('1.2.0'), { version: '1.2.0' }), [a!], 'http://b'));
  await store.offerPointer(await signed(pointerDocument(2, m), [a!], 'http://c'));
  const err = throwsWithCode(() => store.settlePointer(), 'equivocation');
  assert.match(err.message, /different channel pointers with sequence 3: http:\/\/a \(version 1\.1\.0, sha256 [0-9a-f]{12}…\), http:\/\/b \(version 1\.2\.0/);
  assert.equal(store.remembered().accepted, {}, 'nothing accepted');
});

test('the highest valid sequence wins; mirrors serving it are listed first', async () => {
  const [a] = await testKeys();
  const store = await atPointer();
  const newest = await signed(pointerDocument(3, m), [a!]);
  await store.offerPointer(await signed(pointerDocument(2, m), [a!], 'http://a'));
  await store.offerPointer({ ...newest, mirror: 'http://b' });
  await store.offerPointer({ ...newest, mirror: 'http://c' });
  assert.equal(store.settlePointer().mirrors, ['http://b', 'http://c']);
});

test('a later answer from the same mirror replaces its refusal; no valid answer at all is refused', async () => {
  const [a] = await testKeys();
  const store = await atPointer();
  await rejectsWithCode(store.offerPointer(await signed(pointerDocument(1, m), [await makeKey('old')], 'http://a')), 'signature');
  await store.offerPointer(await signed(pointerDocument(1, m), [a!], 'http://a'));
  store.settlePointer();
  const none = await atPointer();
  await rejectsWithCode(none.offerPointer(await signed(pointerDocument(1, m, { expires: inDays(-1) }), [a!], 'http://a')), 'expired');
  const err = throwsWithCode(() => none.settlePointer([new TideError('unreachable', 'connection refused', { mirror: 'http://b' })]), 'expired');
  assert.match(err.message, /no mirror gave a valid answer for channels\/stable\.json: http:\/\/a: channel pointer expired.*; http:\/\/b: connection refused/);
});

test('a pointer naming a revoked version is remembered, then refused', async () => {
  const [a] = await testKeys();
  const store = await atPointer({ revocations: { sequence: 1, versions: ['1.1.0'], keys: [] } });
  await store.offerPointer(await signed(pointerDocument(2, m), [a!], 'm1'));
  const err = throwsWithCode(() => store.settlePointer(), 'revoked');
  assert.equal(err.where, { mirror: 'm1', file: 'channels/stable.json' });
  assert.is(store.remembered().accepted.stable?.sequence, 2);
});

// --- manifest

test('accepts the manifest the pointer pins; refuses other size, other bytes, another app or version, a bad signature', async () => {
  const [a] = await testKeys();
  const store = await atPointer();
  await store.offerPointer(await signed(pointerDocument(1, m), [a!], 'm1'));
  store.settlePointer();
  assert.equal(store.wantedManifest(), { path: 'releases/1.1.0/manifest.json', version: '1.1.0', maxBytes: m.length, sha256: sha256(m) });
  await rejectsWithCode(store.acceptManifest(await signed(Buffer.concat([m, Buffer.from(' ')]), [a!])), 'size');
  const sameLength = Buffer.from(m.toString().replace('"schema": 1,', '"schema":1, '));
  assert.is(sameLength.length, m.length);
  await rejectsWithCode(store.acceptManifest(await signed(sameLength, [a!])), 'hash');
  await rejectsWithCode(store.acceptManifest(await signed(m, [await makeKey('stranger')])), 'signature');
  const manifest = await store.acceptManifest(await signed(m, [a!], 'm1'));
  assert.is(manifest.version, '1.1.0');
});

test('a manifest for another app or version is refused even when the pointer pins it', async () => {
  const [a] = await testKeys();
  for (const [over, code] of [[{ app: 'other' }, 'wrong-app'], [{ version: '1.2.0' }, 'schema']] as const) {
    const bad = manifestDocument('1.1.0', over);
    const store = await atPointer();
    await store.offerPointer(await signed(pointerDocument(1, bad), [a!]));
    store.settlePointer();
    await rejectsWithCode(store.acceptManifest(await signed(bad, [a!])), code);
  }
});

test('--version: a revoked version is refused before any manifest; another is accepted unpinned', async () => {
  const [a] = await testKeys();
  const revoked = await atPointer({ revocations: { sequence: 1, versions: ['1.1.0'], keys: [] } });
  throwsWithCode(() => revoked.pinVersion('1.1.0'), 'revoked');
  const store = await atPointer();
  store.pinVersion('1.1.0');
  assert.equal(store.wantedManifest(), { path: 'releases/1.1.0/manifest.json', version: '1.1.0', maxBytes: 1024 * 1024 });
  await rejectsWithCode(store.acceptManifest(await signed(manifestDocument('1.2.0'), [a!])), 'schema');
  assert.is((await store.acceptManifest(await signed(m, [a!]))).version, '1.1.0');
});

test('forChannel: the same root and revocations for another channel', async () => {
  const [a] = await testKeys();
  const store = await atPointer();
  const beta = store.forChannel('beta');
  await rejectsWithCode(beta.offerPointer(await signed(pointerDocument(1, m), [a!])), 'wrong-channel');
  await beta.offerPointer(await signed(pointerDocument(1, m, { channel: 'beta' }), [a!], 'm'));
  assert.is(beta.settlePointer().pointer.channel, 'beta');
});

test.run();
