// `tide release keygen`: a release signing key that every host and GnuPG 2.2 can read.
import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { generateKey, readKey } from 'openpgp';
import { TideError } from '../errors.js';
import { fsyncDir } from '../store/atomic.js';

export interface KeygenRequest {
  /** User ID name, e.g. "demo release 2026". */
  name: string;
  email?: string;
  privatePath: string;
  publicPath: string;
  /** Encrypts the private key when set (TIDE_KEY_PASSPHRASE); empty means a passphrase-less key. */
  passphrase?: string;
  now?: Date;
}

export interface GeneratedKey {
  /** Primary key fingerprint, lower-case hex: what hosts count for the threshold and revocations list. */
  fingerprint: string;
  userId: string;
  privatePath: string;
  publicPath: string;
}

/** Where `--out DIR` puts the key pair: <slug>.key.asc (secret) and <slug>.pub.asc (public). */
export function keyPathsIn(dir: string, name: string): { privatePath: string; publicPath: string } {
  const slug = name.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '') || 'release';
  return { privatePath: join(dir, `${slug}.key.asc`), publicPath: join(dir, `${slug}.pub.asc`) };
}

export async function generateSigningKey(request: KeygenRequest): Promise<GeneratedKey> {
  if (resolve(request.privatePath) === resolve(request.publicPath)) {
    throw new TideError('usage', 'the private and the public key need two different files', { file: request.privatePath });
  }
  for (const path of [request.privatePath, request.publicPath]) {
    if (existsSync(path)) throw new TideError('usage', `refusing to overwrite an existing key file`, { file: path });
  }
  // ed25519Legacy makes v4 packets with the EdDSA algorithm GnuPG 2.2 knows;
  // it refuses v6 keys and the new Ed25519 algorithm. A release key only
  // signs, so there is no encryption subkey.
  const key = await generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name: request.name, ...(request.email ? { email: request.email } : {}) }],
    subkeys: [],
    format: 'armored',
    ...(request.passphrase ? { passphrase: request.passphrase } : {}),
    ...(request.now ? { date: request.now } : {}),
  });
  const publicKey = await readKey({ armoredKey: key.publicKey });
  // A key directory we create is private; an existing one keeps its mode.
  mkdirSync(dirname(request.privatePath), { recursive: true, mode: 0o700 });
  mkdirSync(dirname(request.publicPath), { recursive: true, mode: 0o755 });
  createNewFile(request.privatePath, key.privateKey, 0o600);
  try {
    createNewFile(request.publicPath, key.publicKey, 0o644);
  } catch (err) {
    // Half a key pair helps nobody; the private key was ours a moment ago.
    rmSync(request.privatePath, { force: true });
    throw err;
  }
  return {
    fingerprint: publicKey.getFingerprint().toLowerCase(),
    userId: publicKey.getUserIDs()[0] ?? request.name,
    privatePath: request.privatePath,
    publicPath: request.publicPath,
  };
}

/**
 * Write a file that must not exist yet, complete or not at all: the temp file is
 * created with its final mode (a secret key is never readable by others, not even
 * for a moment), fsynced, then hard-linked to its name, which fails if the name exists.
 */
function createNewFile(target: string, text: string, mode: number): void {
  const temp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const fd = openSync(temp, 'wx', mode);
    try {
      const bytes = Buffer.from(text);
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    linkSync(temp, target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new TideError('usage', `refusing to overwrite an existing key file`, { file: target });
    }
    throw err;
  } finally {
    rmSync(temp, { force: true });
  }
  fsyncDir(dirname(target));
}
