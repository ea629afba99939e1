// SPEC trust.md#how-a-host-walks-the-chain: root N+1 is trusted only
// when `threshold` distinct keys of root N and `threshold` distinct keys of root N+1
// itself signed its exact bytes. Pure: bytes, the trusted root and a clock value in.
import { TideError, isTideError, type ErrorPlace } from '../errors.js';
import { limits } from '../limits.js';
import { parseRootDocument } from '../documents/root-document.js';
import { verifyDetached } from './verify-signatures.js';
import { configRoot, keysOfRoot, type TrustedRoot } from './trusted-root.js';
import type { TrustedKey } from './trusted-keys.js';

export interface NextRootCheck {
  app: string;
  /** Revoked fingerprints: their signatures count for no root (none for roots already stored). */
  revokedKeys: readonly string[];
  now: Date;
  where: ErrorPlace;
}

/** A refusal of root `version`, its message saying which rule failed. */
function inRoot(err: unknown, what: string): unknown {
  return isTideError(err) ? new TideError(err.code, `${what}: ${err.message}`, err.where, { cause: err }) : err;
}

export function checkSignedSizes(bytes: Uint8Array, asc: string, what: string, where: ErrorPlace): void {
  // SPEC formats.md#size-caps: documents over 1 MiB and signatures over 64 KiB are refused.
  if (bytes.byteLength > limits.maxDocumentBytes) throw new TideError('size', `${what} is larger than ${limits.maxDocumentBytes} bytes`, where);
  if (Buffer.byteLength(asc) > limits.maxSignatureBytes) throw new TideError('size', `signature is larger than ${limits.maxSignatureBytes} bytes`, where);
}

async function signedBy(bytes: Uint8Array, asc: string, keys: readonly TrustedKey[], threshold: number, check: NextRootCheck): Promise<void> {
  await verifyDetached({ data: bytes, armoredSignature: asc, keys, threshold, revokedKeys: check.revokedKeys, now: check.now, where: check.where });
}

/** Root `previous.version + 1`, verified against `previous`; the root it becomes, or a refusal. */
export async function verifyNextRoot(previous: TrustedRoot, bytes: Uint8Array, asc: string, check: NextRootCheck): Promise<TrustedRoot> {
  const version = previous.version + 1;
  const where = check.where;
  checkSignedSizes(bytes, asc, `root ${version}`, where);
  // Over the raw bytes first: nothing of an unsigned document is read.
  try {
    await signedBy(bytes, asc, previous.keys, previous.threshold, check);
  } catch (err) {
    throw inRoot(err, `root ${version} must be signed by ${previous.threshold} key(s) of root ${previous.version}`);
  }
  const document = parseRootDocument(bytes, where);
  if (document.app !== check.app) {
    throw new TideError('wrong-app', `root ${version} is for app ${JSON.stringify(document.app)}, this host runs ${JSON.stringify(check.app)}`, where);
  }
  // SPEC trust.md#how-a-host-walks-the-chain: exactly the next version — no skipping ahead, no going back.
  if (document.version !== version) {
    throw new TideError('sequence', `root document says version ${document.version}, expected exactly ${version}`, where);
  }
  const keys = await keysOfRoot(document, where);
  try {
    await signedBy(bytes, asc, keys, document.threshold, check);
  } catch (err) {
    throw inRoot(err, `root ${version} must be signed by ${document.threshold} of its own keys`);
  }
  return {
    version, app: document.app, keys, threshold: document.threshold, expires: document.expires,
    ...(document.sequences && { sequences: document.sequences }), signed: { bytes, asc },
  };
}

export interface StoredRoot {
  version: number;
  bytes: Uint8Array;
  asc: string;
}

export interface LoadedChain {
  /** The newest root that chains to the config's root. */
  root: TrustedRoot;
  /** The first stored version that did not verify (it and later ones are not trusted), with why. */
  broken?: { version: number; error: TideError };
}

/**
 * The roots this host stored, verified again from the config's root 1 on: a config
 * whose keys changed, or a damaged file, does not silently keep old trust. Revocations
 * accepted later do not undo a root accepted before them; expiry is the caller's check.
 */
export async function loadRootChain(app: string, keys: readonly TrustedKey[], threshold: number, stored: readonly StoredRoot[], now: Date): Promise<LoadedChain> {
  let root = configRoot(app, keys, threshold);
  for (const next of stored) {
    const where = { file: `roots/root.${next.version}.json` };
    try {
      if (next.version !== root.version + 1) throw new TideError('sequence', `expected root ${root.version + 1}, found root ${next.version}`, where);
      root = await verifyNextRoot(root, next.bytes, next.asc, { app, revokedKeys: [], now, where });
    } catch (err) {
      if (!isTideError(err)) throw err;
      return { root, broken: { version: next.version, error: err } };
    }
  }
  return { root };
}
