// `tide release revoke`: add versions and keys to revocations.json and sign it.
// SPEC formats.md#revocations: a host never installs a revoked version and ignores
// signatures by revoked keys. The list only grows: a revocation is never undone here.
import { mkdirSync } from 'node:fs';
import { TideError } from '../errors.js';
import { parseRevocations } from '../documents/parse-document.js';
import type { Revocations } from '../documents/schemas.js';
import { normalizeFingerprint } from '../trust/trusted-keys.js';
import { writeFileAtomic } from '../store/atomic.js';
import { checkName, checkVersion, defaultExpiresInMs, inTree, isoSeconds, readIfExists, treePaths } from './release-tree.js';
import { signDetached, type SigningKey } from './sign-files.js';

export interface RevokeRequest {
  tree: string;
  app: string;
  /** Versions to add to the list. */
  versions?: readonly string[];
  /** Key fingerprints to add to the list (spaces and 0x allowed, as gpg prints them). */
  keys?: readonly string[];
  signingKeys: readonly SigningKey[];
  /** From now; default 30 days. */
  expiresInMs?: number;
  now?: Date;
}

export interface RevocationsWritten {
  revocations: Revocations;
  file: string;
  signatureFile: string;
  /** What this call added (already listed entries are not repeated). */
  added: { versions: string[]; keys: string[] };
  previousSequence: number | null;
}

export async function revokeReleases(request: RevokeRequest): Promise<RevocationsWritten> {
  const app = checkName('app', request.app);
  const now = request.now ?? new Date();
  const expiresInMs = request.expiresInMs ?? defaultExpiresInMs;
  if (!(expiresInMs > 0)) throw new TideError('usage', `--expires must be a positive duration, got ${expiresInMs} ms`);
  const versions = (request.versions ?? []).map(checkVersion);
  const keys = (request.keys ?? []).map(checkFingerprint);
  const file = inTree(request.tree, treePaths.revocations);
  const previous = readRevocations(request.tree, app);
  const merged = {
    versions: union(previous?.versions ?? [], versions),
    keys: union(previous?.keys ?? [], keys),
  };
  refuseRevokedSigners(merged.keys, request.signingKeys);
  const revocations: Revocations = {
    schema: 1,
    app,
    sequence: (previous?.sequence ?? 0) + 1,
    published: isoSeconds(now),
    expires: isoSeconds(new Date(now.getTime() + expiresInMs)),
    versions: merged.versions,
    keys: merged.keys,
  };
  const bytes = Buffer.from(JSON.stringify(revocations, null, 2) + '\n');
  const signatureFile = treePaths.signatureOf(file);
  mkdirSync(request.tree, { recursive: true, mode: 0o755 });
  // The signature first, as publish does: whoever reads the new list finds its signature.
  writeFileAtomic(signatureFile, await signDetached(bytes, request.signingKeys, now));
  writeFileAtomic(file, bytes);
  return {
    revocations,
    file,
    signatureFile,
    added: {
      versions: merged.versions.filter((v) => !(previous?.versions ?? []).includes(v)),
      keys: merged.keys.filter((k) => !(previous?.keys ?? []).includes(k)),
    },
    previousSequence: previous?.sequence ?? null,
  };
}

/** The tree's current revocations, or undefined when there are none yet. */
export function readRevocations(tree: string, app: string): Revocations | undefined {
  const where = { file: inTree(tree, treePaths.revocations) };
  const bytes = readIfExists(where.file);
  if (!bytes) return undefined;
  const revocations = parseRevocations(bytes, where);
  if (revocations.app !== app) throw new TideError('wrong-app', `expected revocations of app ${app}, found app ${revocations.app}`, where);
  return { ...revocations, keys: revocations.keys.map(normalizeFingerprint) };
}

/** Hosts ignore signatures by revoked keys, so a document signed by one would be refused. */
export function refuseRevokedSigners(revokedKeys: readonly string[], signingKeys: readonly SigningKey[]): void {
  const revoked = signingKeys.find((k) => revokedKeys.includes(k.fingerprint));
  if (revoked) {
    throw new TideError('revoked', `the signing key ${revoked.fingerprint} is revoked; hosts ignore its signatures`, { file: revoked.source });
  }
}

function checkFingerprint(text: string): string {
  const fingerprint = normalizeFingerprint(text);
  // v4 fingerprints are 40 hex digits, v6 ones 64.
  if (!/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(fingerprint)) {
    throw new TideError('usage', `--revoke-key needs a full key fingerprint (40 hex digits), got ${JSON.stringify(text)}`);
  }
  return fingerprint;
}

function union(existing: readonly string[], added: readonly string[]): string[] {
  return [...new Set([...existing, ...added])];
}
