// The trust store's root rules (docs/trust.md#the-root-chain), fed bytes only.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TideError } from '../../src/errors.js';
import { detachSign } from '../helpers/keys.js';
import { rejectsWithCode, throwsWithCode } from '../helpers/assert-error.js';
import { inDays, manifestDocument, nextRoot, pointerDocument, rootDocument, rootOf, signed, skipToPointer, storeFor, testKeys } from './trust-fixtures.js';

const notFound = (mirror = 'm1') => new TideError('not-found', 'expected the file, it does not exist', { mirror });

test('accepts root 2 signed by root 1 and by itself, then trusts only its keys', async () => {
  const [a, b] = await testKeys();
  const store = await storeFor();
  await store.offerRoot(await signed(rootDocument(2, [b!]), [a!, b!], 'm1'));
  const { root } = store.settleRoot();
  assert.equal([root?.version, root?.threshold, root?.keys.map((k) => k.fingerprint)], [2, 1, [b!.fingerprint]]);
  store.rootStored(2);
  skipToPointer(store);
  const manifest = manifestDocument();
  await rejectsWithCode(store.offerPointer(await signed(pointerDocument(1, manifest), [a!], 'm1')), 'signature');
  await store.offerPointer(await signed(pointerDocument(1, manifest), [b!], 'm2'));
  assert.is(store.settlePointer().mirrors[0], 'm2');
});

test('refuses a root signed only by the new keys', async () => {
  const [, b] = await testKeys();
  const store = await storeFor();
  const err = await rejectsWithCode(store.offerRoot(await signed(rootDocument(2, [b!]), [b!], 'm1')), 'signature');
  assert.match(err.message, /root 2 must be signed by 1 key\(s\) of root 1/);
  assert.is(err.where.file, 'keys/root.2.json');
  throwsWithCode(() => store.settleRoot(), 'signature');
});

test('refuses a root signed only by the old keys', async () => {
  const [a, b] = await testKeys();
  const store = await storeFor();
  const err = await rejectsWithCode(store.offerRoot(await signed(rootDocument(2, [b!]), [a!])), 'signature');
  assert.match(err.message, /root 2 must be signed by 1 of its own keys/);
});

test('a single old key below root 1\'s threshold cannot rotate', async () => {
  const [a, b, c] = await testKeys();
  const store = await storeFor({ root: rootOf([a!, b!], 2) });
  const err = await rejectsWithCode(store.offerRoot(await signed(rootDocument(2, [c!]), [a!, c!])), 'threshold');
  assert.match(err.message, /of root 1: 1 trusted key\(s\) signed, the threshold is 2/);
  await store.offerRoot(await signed(rootDocument(2, [c!]), [a!, b!, c!], 'm2'));
  assert.is(store.settleRoot().root?.version, 2);
});

test('the new root\'s own threshold must be met too', async () => {
  const [a, b, c] = await testKeys();
  const store = await storeFor();
  const err = await rejectsWithCode(store.offerRoot(await signed(rootDocument(2, [b!, c!], 2), [a!, b!])), 'threshold');
  assert.match(err.message, /root 2 must be signed by 2 of its own keys/);
});

test('refuses a root that is not exactly the next version', async () => {
  const [a] = await testKeys();
  const store = await storeFor();
  const err = await rejectsWithCode(store.offerRoot(await signed(rootDocument(3, [a!]), [a!])), 'sequence');
  assert.match(err.message, /root document says version 3, expected exactly 2/);
});

test('refuses a root for another app', async () => {
  const [a] = await testKeys();
  const store = await storeFor();
  await rejectsWithCode(store.offerRoot(await signed(rootDocument(2, [a!], 1, { app: 'other' }), [a!])), 'wrong-app');
});

test('refuses a root whose threshold its keys cannot meet, or whose key is not a key', async () => {
  const [a] = await testKeys();
  const store = await storeFor();
  await rejectsWithCode(store.offerRoot(await signed(rootDocument(2, [a!], 2), [a!])), 'schema');
  await rejectsWithCode(store.offerRoot(await signed(rootDocument(2, [a!, a!], 2), [a!])), 'schema');
  await rejectsWithCode(store.offerRoot(await signed(rootDocument(2, [a!], 1, { keys: ['not a key'] }), [a!])), 'schema');
  await rejectsWithCode(store.offerRoot(await signed(rootDocument(2, [a!], 1, { schema: 2 }), [a!])), 'schema');
});

test('refuses a root over 1 MiB or a signature over 64 KiB without verifying', async () => {
  const [a] = await testKeys();
  const store = await storeFor();
  await rejectsWithCode(store.offerRoot({ bytes: Buffer.alloc(1024 * 1024 + 1, 0x20), asc: '' }), 'size');
  await rejectsWithCode(store.offerRoot({ bytes: rootDocument(2, [a!]), asc: 'x'.repeat(65 * 1024) }), 'size');
});

test('signatures by a revoked key count for no root', async () => {
  const [a, b, c] = await testKeys();
  const store = await storeFor({ root: rootOf([a!, b!]), revocations: { sequence: 1, versions: [], keys: [b!.fingerprint] } });
  // b, revoked, lists itself back and signs for both roots: no.
  const err = await rejectsWithCode(store.offerRoot(await signed(rootDocument(2, [b!, c!]), [b!])), 'signature');
  assert.match(err.message, /revoked key/);
  // Even listed in a new root, a revoked key's signature on a pointer is ignored.
  await store.offerRoot(await signed(rootDocument(2, [b!, c!]), [a!, c!], 'm1'));
  store.rootStored(store.settleRoot().root!.version);
  skipToPointer(store);
  await rejectsWithCode(store.offerPointer(await signed(pointerDocument(1, manifestDocument()), [b!])), 'signature');
});

test('an expired intermediate root is walked through; an expired newest root is refused', async () => {
  const [a, b] = await testKeys();
  const store = await storeFor();
  await store.offerRoot(await signed(rootDocument(2, [a!], 1, { expires: inDays(-1) }), [a!]));
  store.rootStored(store.settleRoot().root!.version);
  const err = throwsWithCode(() => store.finishRoots(), 'expired');
  assert.match(err.message, /root 2, the newest this host trusts, expired at/);
  assert.is(err.where.file, 'keys/root.2.json');
  await store.offerRoot(await signed(rootDocument(3, [b!]), [a!, b!]));
  store.rootStored(store.settleRoot().root!.version);
  store.finishRoots();
  assert.is(store.phase, 'revocations');
});

test('an accepted root must be stored before the next is asked for', async () => {
  const [a] = await testKeys();
  const store = await storeFor();
  await store.offerRoot(await signed(rootDocument(2, [a!]), [a!]));
  store.settleRoot();
  throwsWithCode(() => store.nextRootVersion(), 'out-of-order');
  await rejectsWithCode(store.offerRoot(await signed(rootDocument(3, [a!]), [a!])), 'out-of-order');
  throwsWithCode(() => store.finishRoots(), 'out-of-order');
  throwsWithCode(() => store.rootStored(3), 'out-of-order');
  store.rootStored(2);
  assert.is(store.nextRootVersion(), 3);
});

test('at most 32 roots in one run', async () => {
  const [a] = await testKeys();
  const store = await storeFor();
  for (let version = 2; version <= 33; version++) {
    await store.offerRoot(await signed(rootDocument(version, [a!]), [a!]));
    store.rootStored(store.settleRoot().root!.version);
  }
  assert.is(store.trustedRoot.version, 33);
  assert.is(store.nextRootVersion(), undefined);
  await rejectsWithCode(store.offerRoot(await signed(rootDocument(34, [a!]), [a!])), 'out-of-order');
});

test('no next root: the walk ends; a refusal next to a mirror without one is only ignored', async () => {
  const [, b] = await testKeys();
  const store = await storeFor();
  assert.equal(store.settleRoot([notFound()]), { ignored: [] });
  await rejectsWithCode(store.offerRoot(await signed(rootDocument(2, [b!]), [b!], 'm2')), 'signature');
  const { root, ignored } = store.settleRoot([notFound('m1')]);
  assert.is(root, undefined);
  assert.equal(ignored.map((e) => e.where.mirror), ['m2']);
});

test('a refusal on the way (a root without its signature) is not "there is none"', async () => {
  const store = await storeFor();
  const unsigned = new TideError('signature', 'keys/root.2.json has no signature', { mirror: 'm1', file: 'keys/root.2.json' });
  throwsWithCode(() => store.settleRoot([unsigned]), 'signature');
  assert.equal(store.settleRoot([unsigned, notFound('m2')]).ignored, [unsigned]);
});

test('two mirrors serving different valid roots of one version: equivocation', async () => {
  const [a, b, c] = await testKeys();
  const store = await storeFor();
  await store.offerRoot(await signed(rootDocument(2, [b!]), [a!, b!], 'http://m1'));
  await store.offerRoot(await signed(rootDocument(2, [c!]), [a!, c!], 'http://m2'));
  const err = throwsWithCode(() => store.settleRoot(), 'equivocation');
  assert.match(err.message, /different roots with version 2: http:\/\/m1 .*, http:\/\/m2 /);
});

test('a root\'s sequence floors replace what older roots accepted; a channel not named is forgotten', async () => {
  const [a, b] = await testKeys();
  const huge = { sequence: 2 ** 40, sha256: 'f'.repeat(64), root: 1 };
  const store = await storeFor({
    accepted: { stable: huge, beta: { sequence: 3, sha256: 'e'.repeat(64), root: 1 }, alpha: { sequence: 5, sha256: 'd'.repeat(64), root: 1 } },
    revocations: { sequence: 2 ** 40, versions: ['0.9.0'], keys: [] },
  });
  const floors = { sequences: { channels: { stable: 7, alpha: 5 }, revocations: 2 } };
  await store.offerRoot(await signed(rootDocument(2, [b!], 1, floors), [a!, b!]));
  store.rootStored(store.settleRoot().root!.version);
  const { accepted, revocations } = store.remembered();
  assert.equal(accepted, {
    stable: { sequence: 7, sha256: null, root: 2 },
    alpha: { sequence: 5, sha256: 'd'.repeat(64), root: 2 },
    beta: { sequence: 0, sha256: null, root: 2 },
  });
  assert.equal([revocations.sequence, revocations.versions], [2, ['0.9.0']], 'revoked versions stay revoked');
  skipToPointer(store);
  await rejectsWithCode(store.offerPointer(await signed(pointerDocument(6, manifestDocument()), [b!])), 'sequence');
  await store.offerPointer(await signed(pointerDocument(8, manifestDocument()), [b!], 'm'));
  assert.is(store.settlePointer().pointer.sequence, 8);
});

test('a root without floors keeps what was accepted; floors of a stored root apply when it is loaded', async () => {
  const [a, b] = await testKeys();
  const kept = { stable: { sequence: 9, sha256: null, root: 1 } };
  const plain = await storeFor({ accepted: kept });
  await plain.offerRoot(await signed(rootDocument(2, [b!]), [a!, b!]));
  plain.rootStored(plain.settleRoot().root!.version);
  assert.equal(plain.remembered().accepted, kept);
  // Root 2 stored, then a crash before state.json was written: loading root 2 applies its floors.
  const root2 = await nextRoot(rootOf([a!]), [b!], 1, [a!, b!], { sequences: { channels: { stable: 4 } } });
  const loaded = await storeFor({ root: root2, accepted: kept });
  assert.equal(loaded.remembered().accepted, { stable: { sequence: 4, sha256: null, root: 2 } });
});

test('refuses out-of-order calls: no pointer before the roots and revocations, no manifest before the pointer', async () => {
  const [a] = await testKeys();
  const store = await storeFor();
  const manifest = manifestDocument();
  await rejectsWithCode(store.offerPointer(await signed(pointerDocument(1, manifest), [a!])), 'out-of-order');
  await rejectsWithCode(store.offerRevocations({ bytes: Buffer.from('{}'), asc: await detachSign('{}', [a!]) }), 'out-of-order');
  await rejectsWithCode(store.acceptManifest(await signed(manifest, [a!])), 'out-of-order');
  store.finishRoots();
  await rejectsWithCode(store.offerRoot(await signed(rootDocument(2, [a!]), [a!])), 'out-of-order');
  throwsWithCode(() => store.settlePointer(), 'out-of-order');
  store.settleRevocations();
  throwsWithCode(() => store.settleRevocations(), 'out-of-order');
  await rejectsWithCode(store.acceptManifest(await signed(manifest, [a!])), 'out-of-order');
  await store.offerPointer(await signed(pointerDocument(1, manifest), [a!], 'm'));
  store.settlePointer();
  await rejectsWithCode(store.offerPointer(await signed(pointerDocument(2, manifest), [a!], 'm')), 'out-of-order');
  await store.acceptManifest(await signed(manifest, [a!], 'm'));
  assert.is(store.phase, 'done');
  await rejectsWithCode(store.acceptManifest(await signed(manifest, [a!], 'm')), 'out-of-order');
});

test.run();
