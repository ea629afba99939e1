// Before a pointer (or an export) leaves the release tree: would a host accept it?
// The same trust store a host runs, fed the tree's own files: its newest root (or,
// with no root in the tree, the signing keys), its revocations, the pointer, the
// manifest. A refusal here is the refusal every host would make.
import { TideError, isTideError } from '../errors.js';
import { parseChannelPointer, parseReleaseManifest } from '../documents/parse-document.js';
import { checkChannelPointer, checkManifest, checkManifestBytes } from '../trust/document-checks.js';
import { configRoot, type TrustedRoot } from '../trust/trusted-root.js';
import { TrustStore } from '../trust/trust-store.js';
import { inTree, readIfExists, treePaths } from './release-tree.js';
import { readNewestTreeRoot } from './tree-roots.js';
import type { SigningKey } from './sign-files.js';

export interface HostRecheck {
  tree: string;
  app: string;
  channel: string;
  pointer: { bytes: Buffer; asc: string };
  manifest: { bytes: Buffer; asc: string };
  /** SPEC formats.md#rollout-fallback: the manifest the pointer's fallback pins, checked as a host outside the rollout would. */
  fallbackManifest?: { bytes: Buffer; asc: string };
  /** With no root in the tree: the keys hosts are expected to trust (threshold 1). */
  signingKeys?: readonly SigningKey[];
  now: Date;
}

export interface RecheckResult {
  /** The root the documents were checked with (1: the signing keys; the manifest signature then unchecked). */
  rootVersion: number;
  /** What a host would ignore with a warning (revocations it cannot verify). */
  warnings: string[];
}

async function rootForRecheck(check: HostRecheck): Promise<{ root: TrustedRoot; fromTree: boolean }> {
  const newest = await readNewestTreeRoot(check.tree);
  if (newest) return { root: newest.root, fromTree: true };
  const keys = (check.signingKeys ?? []).map((k) => ({ fingerprint: k.fingerprint, key: k.key.toPublic(), source: k.source }));
  return { root: configRoot(check.app, keys, 1), fromTree: false };
}

/** With no root in the tree and no signing key, the signatures cannot be judged here: the other checks still run. */
export async function recheckAsHost(check: HostRecheck): Promise<RecheckResult> {
  const { root, fromTree } = await rootForRecheck(check);
  if (root.keys.length === 0) return recheckUnsigned(check);
  const { store, warnings, located } = await settledStore(check, root);
  // With no root in the tree, the manifest may rightly be signed by a trusted key that is not signing now.
  const manifestPath = store.wantedManifest().path;
  if (fromTree) await store.acceptManifest(check.manifest).catch(located(manifestPath));
  if (check.fallbackManifest) {
    // A host outside the rollout runs the same checks up to the pointer, then takes the fallback's manifest.
    const outside = (await settledStore(check, root)).store;
    const fallback = outside.wantFallback();
    const pin = { ...fallback.manifest };
    if (fromTree) await outside.acceptManifest(check.fallbackManifest).catch(located(pin.path));
    else checkManifestBytes(check.fallbackManifest.bytes, pin, { file: inTree(check.tree, pin.path) });
  }
  return { rootVersion: root.version, warnings };
}

/** A store as a host with no memory has it after the roots, the tree's revocations and this pointer. */
async function settledStore(check: HostRecheck, root: TrustedRoot) {
  const store = new TrustStore({ app: check.app, channel: check.channel, root, now: check.now, accepted: {}, revocations: { sequence: null, versions: [], keys: [] } });
  const warnings: string[] = [];
  try {
    store.finishRoots();
  } catch (err) {
    throw isTideError(err) ? new TideError(err.code, `${err.message} (run tide release rotate-keys)`, { file: inTree(check.tree, `keys/root.${root.version}.json`) }) : err;
  }
  const revocationsFile = inTree(check.tree, treePaths.revocations);
  const revocations = readIfExists(revocationsFile);
  if (revocations) {
    const asc = readIfExists(treePaths.signatureOf(revocationsFile))?.toString('utf8') ?? '';
    try {
      await store.offerRevocations({ bytes: revocations, asc });
    } catch (err) {
      if (!isTideError(err)) throw err;
      warnings.push(`hosts will ignore ${treePaths.revocations}: ${err.message}; re-sign it (tide release revoke --app ${check.app} --key …)`);
    }
  }
  store.settleRevocations();
  const located = (file: string) => (err: unknown) => {
    throw isTideError(err) ? new TideError(err.code, `hosts would refuse it: ${err.message}`, { file: inTree(check.tree, file) }) : err;
  };
  const pointerPath = treePaths.channel(check.channel);
  await store.offerPointer(check.pointer).catch(located(pointerPath));
  try {
    store.settlePointer();
  } catch (err) {
    located(pointerPath)(err);
  }
  return { store, warnings, located };
}

/** The host's checks that need no key: app, channel, expiry, the manifest the pointer pins. */
function recheckUnsigned(check: HostRecheck): RecheckResult {
  const pointerPath = treePaths.channel(check.channel);
  const where = { file: inTree(check.tree, pointerPath) };
  const pointer = parseChannelPointer(check.pointer.bytes, where);
  checkChannelPointer(pointer, check.pointer.bytes, { app: check.app, channel: check.channel, now: check.now, accepted: undefined }, where);
  const manifestWhere = { file: inTree(check.tree, pointer.manifest.path) };
  checkManifestBytes(check.manifest.bytes, pointer.manifest, manifestWhere);
  checkManifest(parseReleaseManifest(check.manifest.bytes, manifestWhere), { app: check.app, version: pointer.version }, manifestWhere);
  return { rootVersion: 1, warnings: [] };
}
