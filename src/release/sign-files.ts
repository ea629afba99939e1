// `tide release sign`: detached, ASCII-armored signatures over the exact bytes.
// SPEC formats.md#mirror-tree: a .asc may hold several signatures (one per key) for threshold
// signing, so every --key signs into the same armored block.
import { readFileSync } from 'node:fs';
import { createMessage, decryptKey, readPrivateKey, sign, type PrivateKey } from 'openpgp';
import { TideError } from '../errors.js';
import { writeFileAtomic } from '../store/atomic.js';
import { treePaths } from './release-tree.js';

export interface SigningKey {
  /** Primary key fingerprint, lower-case hex. */
  fingerprint: string;
  key: PrivateKey;
  /** The file it was read from, for error messages. */
  source: string;
}

/**
 * Read armored private keys. Keys are expected to be passphrase-less (the key file
 * is the secret, kept 0600 on the signing machine); an encrypted key is unlocked
 * with `passphrase` (the command passes TIDE_KEY_PASSPHRASE).
 */
export async function readSigningKeys(paths: readonly string[], passphrase?: string): Promise<SigningKey[]> {
  if (paths.length === 0) throw new TideError('usage', 'at least one --key PRIVATE.asc is needed to sign');
  const keys: SigningKey[] = [];
  for (const source of paths) {
    const key = await readOneKey(source, passphrase);
    const fingerprint = key.getFingerprint().toLowerCase();
    if (keys.some((k) => k.fingerprint === fingerprint)) {
      // Two signatures by one key count once on every host: refuse the illusion of a threshold.
      throw new TideError('usage', `the same key (${fingerprint}) was given twice`, { file: source });
    }
    keys.push({ fingerprint, key, source });
  }
  return keys;
}

async function readOneKey(source: string, passphrase: string | undefined): Promise<PrivateKey> {
  let armored: string;
  try {
    armored = readFileSync(source, 'utf8');
  } catch (err) {
    throw new TideError('usage', `cannot read the signing key: ${(err as Error).message}`, { file: source });
  }
  let key: PrivateKey;
  try {
    key = await readPrivateKey({ armoredKey: armored });
  } catch (err) {
    throw new TideError('usage', `expected an armored OpenPGP private key: ${(err as Error).message}`, { file: source });
  }
  if (key.isDecrypted()) return key;
  if (!passphrase) {
    throw new TideError('usage', 'the signing key is encrypted: set TIDE_KEY_PASSPHRASE', { file: source });
  }
  try {
    return await decryptKey({ privateKey: key, passphrase });
  } catch (err) {
    throw new TideError('usage', `cannot unlock the signing key with TIDE_KEY_PASSPHRASE: ${(err as Error).message}`, { file: source });
  }
}

/** One armored block holding one signature packet per key, over exactly `data`. */
export async function signDetached(data: Uint8Array, keys: readonly SigningKey[], now = new Date()): Promise<string> {
  const message = await createMessage({ binary: data });
  try {
    return await sign({ message, signingKeys: keys.map((k) => k.key), detached: true, format: 'armored', date: now });
  } catch (err) {
    const sources = keys.map((k) => k.source).join(', ');
    throw new TideError('usage', `cannot sign with ${sources}: ${(err as Error).message}`);
  }
}

export interface SignedFile {
  file: string;
  signatureFile: string;
  signers: string[];
}

/** Sign each file into FILE.asc, replacing an older .asc atomically. */
export async function signFiles(files: readonly string[], keys: readonly SigningKey[], now = new Date()): Promise<SignedFile[]> {
  if (files.length === 0) throw new TideError('usage', 'no file to sign');
  const signed: SignedFile[] = [];
  for (const file of files) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (err) {
      throw new TideError('usage', `cannot read the file to sign: ${(err as Error).message}`, { file });
    }
    const signatureFile = treePaths.signatureOf(file);
    writeFileAtomic(signatureFile, await signDetached(bytes, keys, now));
    signed.push({ file, signatureFile, signers: keys.map((k) => k.fingerprint) });
  }
  return signed;
}
