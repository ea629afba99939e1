import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { readKey, readPrivateKey } from 'openpgp';
import { generateSigningKey, keyPathsIn } from '../../src/release/generate-key.js';
import { readSigningKeys, signDetached } from '../../src/release/sign-files.js';
import { rejectsWithCode } from '../helpers/assert-error.js';
import { tempDir } from '../helpers/tmp.js';

test('writes the private key 0600 and the public key 0644, and returns the fingerprint', async () => {
  const tmp = tempDir();
  try {
    const paths = keyPathsIn(tmp.path, 'Demo Release 2026');
    assert.is(paths.privatePath, join(tmp.path, 'demo-release-2026.key.asc'));
    const key = await generateSigningKey({ name: 'Demo Release 2026', email: 'release@example.org', ...paths });
    assert.is(statSync(key.privatePath).mode & 0o777, 0o600);
    assert.is(statSync(key.publicPath).mode & 0o777, 0o644);
    const publicKey = await readKey({ armoredKey: readFileSync(key.publicPath, 'utf8') });
    assert.is(publicKey.getFingerprint(), key.fingerprint);
    assert.ok(!publicKey.isPrivate(), 'the public file holds no secret');
    assert.is(key.userId, 'Demo Release 2026 <release@example.org>');
    const privateKey = await readPrivateKey({ armoredKey: readFileSync(key.privatePath, 'utf8') });
    assert.ok(privateKey.isDecrypted(), 'passphrase-less by default');
  } finally {
    tmp.cleanup();
  }
});

test('makes a v4 EdDSA (legacy) key with no subkey, the kind GnuPG 2.2 imports', async () => {
  const tmp = tempDir();
  try {
    const key = await generateSigningKey({ name: 'x', ...keyPathsIn(tmp.path, 'x') });
    const publicKey = await readKey({ armoredKey: readFileSync(key.publicPath, 'utf8') });
    assert.is(publicKey.keyPacket.version, 4);
    assert.equal(publicKey.getAlgorithmInfo(), { algorithm: 'eddsaLegacy', curve: 'ed25519Legacy' });
    assert.is(publicKey.getSubkeys().length, 0);
    assert.is(key.fingerprint.length, 40);
  } finally {
    tmp.cleanup();
  }
});

test('refuses to overwrite an existing key file and leaves both files as they were', async () => {
  const tmp = tempDir();
  try {
    const paths = keyPathsIn(tmp.path, 'release');
    writeFileSync(paths.publicPath, 'keep me');
    const err = await rejectsWithCode(generateSigningKey({ name: 'release', ...paths }), 'usage');
    assert.is(err.where.file, paths.publicPath);
    assert.is(readFileSync(paths.publicPath, 'utf8'), 'keep me');
    assert.not.ok(existsSync(paths.privatePath), 'no private key was written');
  } finally {
    tmp.cleanup();
  }
});

test('refuses to overwrite an existing private key', async () => {
  const tmp = tempDir();
  try {
    const paths = keyPathsIn(tmp.path, 'release');
    writeFileSync(paths.privatePath, 'old secret', { mode: 0o600 });
    await rejectsWithCode(generateSigningKey({ name: 'release', ...paths }), 'usage');
    assert.is(readFileSync(paths.privatePath, 'utf8'), 'old secret');
    assert.not.ok(existsSync(paths.publicPath));
  } finally {
    tmp.cleanup();
  }
});

test('an encrypted key signs only with its passphrase', async () => {
  const tmp = tempDir();
  try {
    const key = await generateSigningKey({ name: 'locked', passphrase: 'correct horse', ...keyPathsIn(tmp.path, 'locked') });
    const err = await rejectsWithCode(readSigningKeys([key.privatePath]), 'usage');
    assert.match(err.message, /TIDE_KEY_PASSPHRASE/);
    await rejectsWithCode(readSigningKeys([key.privatePath], 'wrong'), 'usage');
    const [unlocked] = await readSigningKeys([key.privatePath], 'correct horse');
    assert.is(unlocked!.fingerprint, key.fingerprint);
    assert.match(await signDetached(Buffer.from('x'), [unlocked!]), /BEGIN PGP SIGNATURE/);
  } finally {
    tmp.cleanup();
  }
});

test('refuses a public key where a signing key is expected', async () => {
  const tmp = tempDir();
  try {
    const key = await generateSigningKey({ name: 'x', ...keyPathsIn(tmp.path, 'x') });
    const err = await rejectsWithCode(readSigningKeys([key.publicPath]), 'usage');
    assert.is(err.where.file, key.publicPath);
  } finally {
    tmp.cleanup();
  }
});

test.run();
