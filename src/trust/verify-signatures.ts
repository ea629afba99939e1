// Detached-signature verification with a threshold. Pure: bytes, signature text,
// keys and a clock value in; the set of trusted signers out, or a TideError.
//
// openpgp.js traps handled here: `signatures[i].verified` is a promise that must be
// awaited; an unknown signer does not make `verify` throw; an .asc without a data
// signature yields an empty list; `expectSigned` means one valid signature, not a
// threshold. So: count distinct trusted primary keys with a verified signature.
import { createMessage, readSignature, verify, type Signature } from 'openpgp';
import { TideError, type ErrorPlace } from '../errors.js';
import { limits } from '../limits.js';
import type { TrustedKey } from './trusted-keys.js';
import { normalizeFingerprint } from './trusted-keys.js';

export interface SignatureCheck {
  /** The exact bytes that were signed. */
  data: Uint8Array;
  /** Armored detached signature(s); several signatures may share one .asc. */
  armoredSignature: string;
  keys: readonly TrustedKey[];
  /** SPEC Config: distinct trusted keys that must sign. */
  threshold: number;
  /** SPEC Revocations: signatures by revoked keys are ignored. */
  revokedKeys?: readonly string[];
  /** Verification time (key expiry, signature creation). */
  now: Date;
  where?: ErrorPlace;
}

export interface VerifiedSignatures {
  /** Primary fingerprints of the trusted keys that signed, sorted. */
  signers: string[];
}

export async function verifyDetached(check: SignatureCheck): Promise<VerifiedSignatures> {
  const where = check.where ?? {};
  if (Buffer.byteLength(check.armoredSignature) > limits.maxSignatureBytes) {
    throw new TideError('size', `signature is larger than ${limits.maxSignatureBytes} bytes`, where);
  }
  const revoked = new Set((check.revokedKeys ?? []).map(normalizeFingerprint));
  const usable = check.keys.filter((k) => !revoked.has(k.fingerprint));
  const signature = await parseSignature(check.armoredSignature, where);
  const signers = await trustedSigners(check.data, signature, usable, check.now);
  if (signers.size === 0) {
    const why = usable.length < check.keys.length ? ' (signatures by revoked keys are ignored)' : '';
    throw new TideError('signature', `no valid signature by a trusted key${why}`, where);
  }
  if (signers.size < check.threshold) {
    throw new TideError(
      'threshold',
      `${signers.size} trusted key(s) signed, the threshold is ${check.threshold}`,
      where,
    );
  }
  return { signers: [...signers].sort() };
}

async function parseSignature(armored: string, where: ErrorPlace): Promise<Signature> {
  try {
    return await readSignature({ armoredSignature: armored });
  } catch (err) {
    throw new TideError('signature', `not an armored OpenPGP signature: ${(err as Error).message}`, where);
  }
}

async function trustedSigners(
  data: Uint8Array,
  signature: Signature,
  keys: readonly TrustedKey[],
  now: Date,
): Promise<Set<string>> {
  const signers = new Set<string>();
  if (keys.length === 0) return signers;
  const message = await createMessage({ binary: data });
  // A signature made seconds ago by a signer whose clock is ahead is not "from the future".
  const date = new Date(now.getTime() + limits.signatureClockSkewMs);
  const result = await verify({ message, signature, verificationKeys: keys.map((k) => k.key), date, format: 'binary' });
  for (const sig of result.signatures) {
    const signer = keys.find((k) => k.key.getKeyIDs().some((id) => id.equals(sig.keyID)));
    if (!signer) continue;
    try {
      if (await sig.verified) signers.add(signer.fingerprint);
    } catch {
      // A bad signature from one key does not cancel a good one from another.
    }
  }
  return signers;
}
