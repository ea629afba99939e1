// The root a host trusts: which keys, how many of them must sign, until when.
// Root 1 is the config's `keys` and `threshold`; later ones come from signed
// root documents (keys/root.<N>.json), each accepted by root-chain.ts.
import { TideError, type ErrorPlace } from '../errors.js';
import type { RootDocument, RootSequences } from '../documents/root-document.js';
import { readTrustedKeys, type TrustedKey } from './trusted-keys.js';

export interface TrustedRoot {
  version: number;
  app: string;
  keys: readonly TrustedKey[];
  threshold: number;
  /** ISO 8601; null for root 1 (the config), which never expires. */
  expires: string | null;
  /** SPEC trust.md#sequence-floors: set by a root that resets what earlier roots accepted. */
  sequences?: RootSequences;
  /** The signed bytes and their signature (absent for root 1). */
  signed?: { bytes: Uint8Array; asc: string };
}

/** SPEC trust.md#the-root-chain: the config's keys and threshold are root version 1. */
export function configRoot(app: string, keys: readonly TrustedKey[], threshold: number): TrustedRoot {
  return { version: 1, app, keys, threshold, expires: null };
}

/** The root's keys as trusted keys: every armored entry must hold public keys. */
export async function keysOfRoot(document: RootDocument, where: ErrorPlace): Promise<TrustedKey[]> {
  const keys: TrustedKey[] = [];
  for (const [index, armored] of document.keys.entries()) {
    try {
      keys.push(...(await readTrustedKeys([{ source: `root ${document.version} key ${index + 1}`, armored }])));
    } catch (err) {
      throw new TideError('schema', `root ${document.version} field keys.${index}: ${(err as Error).message}`, where);
    }
  }
  const distinct = new Set(keys.map((k) => k.fingerprint)).size;
  if (distinct < document.threshold) {
    throw new TideError('schema', `root ${document.version} lists ${distinct} distinct key(s), fewer than its threshold ${document.threshold}`, where);
  }
  return keys;
}

export const fingerprintsOf = (root: TrustedRoot): string[] => [...new Set(root.keys.map((k) => k.fingerprint))].sort();
