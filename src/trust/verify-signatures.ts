// Detached-signature verification with a threshold. Pure: bytes, signature text,
// keys and a clock value in; the set of trusted signers out, or a TideError.
//
// openpgp.js traps handled here: `signatures[i].verified` is a promise that must be
// awaited; an unknown signer does not make `verify` throw; an .asc without a data
// signature yields an empty list; `expectSigned` means one valid signature, not a
// threshold. So: count distinct trusted primary keys with a verified signature.
import { createMessage, readSignature, verify, type KeyID, type Signature } from 'openpgp';
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
  /** SPEC formats.md#signatures-and-threshold: distinct trusted keys that must sign. */
  threshold: number;
  /** SPEC formats.md#revocations: signatures by revoked keys are ignored. */
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
  const revokedKeys = check.keys.filter((k) => revoked.has(k.fingerprint));
  const { signers, found } = await trustedSigners(check.data, signature, usable, revokedKeys, check.now);
  if (signers.size === 0) {
    throw new TideError('signature', `no valid signature by a trusted key; found ${describeFound(found)}`, where);
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

/** What the .asc held, for the operator: which signatures, and why none counted. */
interface FoundSignatures {
  /** Key IDs (hex) of signers that are not trusted here (or are revoked). */
  unknown: string[];
  /** Fingerprints of trusted signers whose signature does not verify over these bytes. */
  invalid: string[];
  /** Fingerprints of revoked keys that signed. */
  revoked: string[];
}

function describeFound(found: FoundSignatures): string {
  const parts = [
    found.invalid.length > 0 && `a signature by trusted key ${found.invalid.join(', ')} that does not match these bytes`,
    // SPEC formats.md#revocations: signatures by revoked keys are ignored.
    found.revoked.length > 0 && `a signature by revoked key ${found.revoked.join(', ')} (ignored)`,
    found.unknown.length > 0 && `a signature by key ID ${found.unknown.join(', ')}, which is not trusted`,
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(' and ') : 'no signature over data';
}

async function trustedSigners(
  data: Uint8Array,
  signature: Signature,
  keys: readonly TrustedKey[],
  revokedKeys: readonly TrustedKey[],
  now: Date,
): Promise<{ signers: Set<string>; found: FoundSignatures }> {
  const signers = new Set<string>();
  const found: FoundSignatures = { unknown: [], invalid: [], revoked: [] };
  const signedBy = (keyID: KeyID, among: readonly TrustedKey[]) => among.find((k) => k.key.getKeyIDs().some((id) => id.equals(keyID)));
  const notCounted = (keyID: KeyID): void => {
    const revoked = signedBy(keyID, revokedKeys);
    if (revoked) found.revoked.push(revoked.fingerprint);
    else found.unknown.push(keyID.toHex());
  };
  if (keys.length === 0) {
    signature.getSigningKeyIDs().forEach(notCounted);
    return { signers, found };
  }
  const message = await createMessage({ binary: data });
  // A signature made seconds ago by a signer whose clock is ahead is not "from the future".
  const date = new Date(now.getTime() + limits.signatureClockSkewMs);
  const result = await verify({ message, signature, verificationKeys: keys.map((k) => k.key), date, format: 'binary' });
  for (const sig of result.signatures) {
    const signer = signedBy(sig.keyID, keys);
    if (!signer) {
      notCounted(sig.keyID);
      continue;
    }
    try {
      if (await sig.verified) signers.add(signer.fingerprint);
    } catch {
      // A bad signature from one key does not cancel a good one from another.
      found.invalid.push(signer.fingerprint);
    }
  }
  return { signers, found };
}
