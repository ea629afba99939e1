import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { verifyDetached } from '../../src/trust/verify-signatures.js';
import { makeKey, detachSign } from '../helpers/keys.js';
import { rejectsWithCode } from '../helpers/assert-error.js';

const now = new Date();
const data = Buffer.from('{"schema":1}\n');

test('accepts a signature by a trusted key and names the signer', async () => {
  const a = await makeKey('a');
  const result = await verifyDetached({ data, armoredSignature: await detachSign(data, [a]), keys: [a.trusted], threshold: 1, now });
  assert.equal(result.signers, [a.fingerprint]);
});

test('refuses a signature by an unknown key', async () => {
  const [a, stranger] = [await makeKey('a'), await makeKey('stranger')];
  await rejectsWithCode(verifyDetached({ data, armoredSignature: await detachSign(data, [stranger]), keys: [a.trusted], threshold: 1, now }), 'signature');
});

test('refuses tampered bytes', async () => {
  const a = await makeKey('a');
  const asc = await detachSign(data, [a]);
  await rejectsWithCode(verifyDetached({ data: Buffer.from('{"schema":2}\n'), armoredSignature: asc, keys: [a.trusted], threshold: 1, now }), 'signature');
});

test('refuses an .asc that holds no signature', async () => {
  const a = await makeKey('a');
  await rejectsWithCode(verifyDetached({ data, armoredSignature: a.publicArmored, keys: [a.trusted], threshold: 1, now }), 'signature');
  await rejectsWithCode(verifyDetached({ data, armoredSignature: 'garbage', keys: [a.trusted], threshold: 1, now }), 'signature');
});

test('counts distinct trusted keys toward the threshold', async () => {
  const [a, b] = [await makeKey('a'), await makeKey('b')];
  const both = await detachSign(data, [a, b]);
  const ok = await verifyDetached({ data, armoredSignature: both, keys: [a.trusted, b.trusted], threshold: 2, now });
  assert.is(ok.signers.length, 2);
  const onlyA = await detachSign(data, [a]);
  const err = await rejectsWithCode(verifyDetached({ data, armoredSignature: onlyA, keys: [a.trusted, b.trusted], threshold: 2, now }), 'threshold');
  assert.match(err.message, /1 trusted key\(s\) signed, the threshold is 2/);
});

test('two signatures by the same key count once', async () => {
  const [a, b] = [await makeKey('a'), await makeKey('b')];
  const twice = await detachSign(data, [a, a]);
  await rejectsWithCode(verifyDetached({ data, armoredSignature: twice, keys: [a.trusted, b.trusted], threshold: 2, now }), 'threshold');
});

test('ignores signatures by revoked keys', async () => {
  const a = await makeKey('a');
  const asc = await detachSign(data, [a]);
  const err = await rejectsWithCode(verifyDetached({ data, armoredSignature: asc, keys: [a.trusted], threshold: 1, revokedKeys: [a.fingerprint.toUpperCase()], now }), 'signature');
  assert.match(err.message, /revoked/);
});

test('refuses a signature larger than 64 KiB', async () => {
  const a = await makeKey('a');
  await rejectsWithCode(verifyDetached({ data, armoredSignature: 'x'.repeat(65 * 1024), keys: [a.trusted], threshold: 1, now }), 'size');
});

test('accepts a signer whose clock is a few minutes ahead, refuses one from the far future', async () => {
  const a = await makeKey('a');
  const soon = await detachSign(data, [a], new Date(Date.now() + 5 * 60_000));
  assert.is((await verifyDetached({ data, armoredSignature: soon, keys: [a.trusted], threshold: 1, now: new Date() })).signers.length, 1);
  const later = await detachSign(data, [a], new Date(Date.now() + 2 * 3_600_000));
  await rejectsWithCode(verifyDetached({ data, armoredSignature: later, keys: [a.trusted], threshold: 1, now: new Date() }), 'signature');
});

test.run();
