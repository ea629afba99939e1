// Verify a signed document over its raw bytes, then parse it. Pure.
import type { ErrorPlace } from '../errors.js';
import { parseChannelPointer, parseReleaseManifest, parseRevocations } from '../documents/parse-document.js';
import type { ChannelPointer, ReleaseManifest, Revocations } from '../documents/schemas.js';
import { verifyDetached } from './verify-signatures.js';
import type { TrustedKey } from './trusted-keys.js';

export interface TrustContext {
  keys: readonly TrustedKey[];
  threshold: number;
  revokedKeys: readonly string[];
  now: Date;
}

export interface Signed<T> {
  document: T;
  bytes: Uint8Array;
  signers: string[];
}

async function openSigned<T>(
  parse: (bytes: Uint8Array, where: ErrorPlace) => T,
  bytes: Uint8Array,
  armoredSignature: string,
  trust: TrustContext,
  where: ErrorPlace,
): Promise<Signed<T>> {
  // SPEC formats.md#signatures-and-threshold: signatures are verified over the raw bytes before the JSON is parsed.
  const { signers } = await verifyDetached({ data: bytes, armoredSignature, ...trust, where });
  return { document: parse(bytes, where), bytes, signers };
}

export const openChannelPointer = (bytes: Uint8Array, asc: string, trust: TrustContext, where: ErrorPlace = {}): Promise<Signed<ChannelPointer>> =>
  openSigned(parseChannelPointer, bytes, asc, trust, where);

export const openReleaseManifest = (bytes: Uint8Array, asc: string, trust: TrustContext, where: ErrorPlace = {}): Promise<Signed<ReleaseManifest>> =>
  openSigned(parseReleaseManifest, bytes, asc, trust, where);

export const openRevocations = (bytes: Uint8Array, asc: string, trust: TrustContext, where: ErrorPlace = {}): Promise<Signed<Revocations>> =>
  openSigned(parseRevocations, bytes, asc, trust, where);
