import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSignature } from 'openpgp';
import { readSigningKeys, signFiles } from '../../src/release/sign-files.js';
import { verifyDetached } from '../../src/trust/verify-signatures.js';
import { rejectsWithCode } from '../helpers/assert-error.js';
import { tempDir } from '../helpers/tmp.js';
import { makeKey } from './release-fixtures.js';

test('writes FILE.asc that verifies over the exact bytes', async () => {
  const tmp = tempDir();
  try {
    const key = await makeKey(join(tmp.path, 'keys'), 'a');
    const file = join(tmp.path, 'manifest.json');
    writeFileSync(file, '{"schema":1}\n');
    const [signed] = await signFiles([file], [key.signing]);
    assert.is(signed!.signatureFile, `${file}.asc`);
    const armoredSignature = readFileSync(`${file}.asc`, 'utf8');
    const check = { armoredSignature, keys: [key.trusted], threshold: 1, now: new Date() };
    const { signers } = await verifyDetached({ ...check, data: readFileSync(file) });
    assert.equal(signers, [key.fingerprint]);
    await rejectsWithCode(verifyDetached({ ...check, data: Buffer.from('{"schema":2}\n') }), 'signature');
  } finally {
    tmp.cleanup();
  }
});

test('two --key give two signatures in one .asc, counted as two signers', async () => {
  const tmp = tempDir();
  try {
    const a = await makeKey(join(tmp.path, 'keys'), 'a');
    const b = await makeKey(join(tmp.path, 'keys'), 'b');
    const file = join(tmp.path, 'pointer.json');
    writeFileSync(file, 'pointer bytes');
    const keys = await readSigningKeys([a.privatePath, b.privatePath]);
    await signFiles([file], keys);
    const armoredSignature = readFileSync(`${file}.asc`, 'utf8');
    assert.is(armoredSignature.match(/BEGIN PGP SIGNATURE/g)!.length, 1, 'one armored block');
    assert.is((await readSignature({ armoredSignature })).packets.length, 2, 'two signature packets');
    const { signers } = await verifyDetached({
      data: readFileSync(file), armoredSignature, keys: [a.trusted, b.trusted], threshold: 2, now: new Date(),
    });
    assert.equal(signers, [a.fingerprint, b.fingerprint].sort());
  } finally {
    tmp.cleanup();
  }
});

test('threshold 2 with one signer is refused with threshold', async () => {
  const tmp = tempDir();
  try {
    const a = await makeKey(join(tmp.path, 'keys'), 'a');
    const b = await makeKey(join(tmp.path, 'keys'), 'b');
    const file = join(tmp.path, 'pointer.json');
    writeFileSync(file, 'pointer bytes');
    await signFiles([file], [a.signing]);
    const err = await rejectsWithCode(verifyDetached({
      data: readFileSync(file), armoredSignature: readFileSync(`${file}.asc`, 'utf8'),
      keys: [a.trusted, b.trusted], threshold: 2, now: new Date(),
    }), 'threshold');
    assert.match(err.message, /1 trusted key\(s\) signed, the threshold is 2/);
  } finally {
    tmp.cleanup();
  }
});

test('refuses the same key given twice (it would count once on every host)', async () => {
  const tmp = tempDir();
  try {
    const a = await makeKey(join(tmp.path, 'keys'), 'a');
    const err = await rejectsWithCode(readSigningKeys([a.privatePath, a.privatePath]), 'usage');
    assert.match(err.message, /given twice/);
  } finally {
    tmp.cleanup();
  }
});

test('refuses a missing file to sign and writes no .asc for it', async () => {
  const tmp = tempDir();
  try {
    const a = await makeKey(join(tmp.path, 'keys'), 'a');
    const missing = join(tmp.path, 'nope.json');
    const err = await rejectsWithCode(signFiles([missing], [a.signing]), 'usage');
    assert.is(err.where.file, missing);
  } finally {
    tmp.cleanup();
  }
});

test('re-signing replaces the .asc with the new key set', async () => {
  const tmp = tempDir();
  try {
    const a = await makeKey(join(tmp.path, 'keys'), 'a');
    const b = await makeKey(join(tmp.path, 'keys'), 'b');
    const file = join(tmp.path, 'doc');
    writeFileSync(file, 'doc');
    await signFiles([file], [a.signing]);
    await signFiles([file], [a.signing, b.signing]);
    const { signers } = await verifyDetached({
      data: readFileSync(file), armoredSignature: readFileSync(`${file}.asc`, 'utf8'),
      keys: [a.trusted, b.trusted], threshold: 2, now: new Date(),
    });
    assert.is(signers.length, 2);
  } finally {
    tmp.cleanup();
  }
});

test.run();
