// Trusted release keys, read from armored text. Pure: text in, keys out.
import { readKeys, type PublicKey } from 'openpgp';
import { TideError } from '../errors.js';

export interface TrustedKey {
  /** Primary key fingerprint, lower-case hex: what revocations and thresholds count. */
  fingerprint: string;
  key: PublicKey;
  /** Where the key came from (a file path), for error messages. */
  source: string;
}

export async function readTrustedKeys(sources: { source: string; armored: string }[]): Promise<TrustedKey[]> {
  const trusted: TrustedKey[] = [];
  for (const { source, armored } of sources) {
    let keys: PublicKey[];
    try {
      keys = (await readKeys({ armoredKeys: armored })).map((k) => k.toPublic());
    } catch (err) {
      throw new TideError('config', `not an armored OpenPGP public key: ${(err as Error).message}`, { file: source });
    }
    for (const key of keys) trusted.push({ fingerprint: key.getFingerprint().toLowerCase(), key, source });
  }
  return trusted;
}

/** Normalise a fingerprint as written by a person or gpg ("ABCD 1234 …"). */
export function normalizeFingerprint(text: string): string {
  return text.replace(/\s+/g, '').replace(/^0x/i, '').toLowerCase();
}
