// `tide release rotate-keys`: write and sign the next root (SPEC trust.md#root-documents).
// Root N+1 must be signed by `threshold` keys of root N and `threshold` keys of its
// own, so every --key that signs is counted against both before anything is written,
// and the result is checked with the very code a host runs (verifyNextRoot).
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { readKeys } from 'openpgp';
import { TideError } from '../errors.js';
import { parseChannelPointer } from '../documents/parse-document.js';
import { rootPath, type RootDocument, type RootSequences } from '../documents/root-document.js';
import { verifyNextRoot } from '../trust/root-chain.js';
import { normalizeFingerprint } from '../trust/trusted-keys.js';
import { configRoot, keysOfRoot, type TrustedRoot } from '../trust/trusted-root.js';
import { writeFileAtomic } from '../store/atomic.js';
import { checkName, inTree, isoSeconds, readIfExists, treePaths } from './release-tree.js';
import { readRevocations, refuseRevokedSigners } from './revoke-releases.js';
import { signDetached, type SigningKey } from './sign-files.js';
import { readNewestTreeRoot } from './tree-roots.js';

/** How long a root stays valid unless --expires says otherwise. */
export const defaultRootExpiresInMs = 365 * 86_400_000;

export interface RotateRequest {
  tree: string;
  /** Default: the app of the tree's newest root. */
  app?: string;
  /** Armored public key files to add. */
  add?: readonly string[];
  /** Fingerprints to remove. */
  remove?: readonly string[];
  /** The new root's threshold; default the old one. */
  threshold?: number;
  signingKeys: readonly SigningKey[];
  expiresInMs?: number;
  /** With no root in the tree yet: the public key files of the hosts' config (root 1). */
  current?: readonly string[];
  currentThreshold?: number;
  /** Write no sequence floors: hosts keep the sequences they remember (SPEC trust.md#sequence-floors). */
  keepSequences?: boolean;
  now?: Date;
}

export interface RotatedRoot {
  version: number;
  file: string;
  signatureFile: string;
  fingerprints: string[];
  threshold: number;
  expires: string;
  sequences: RootSequences | null;
  /** keys/root.1.json, when this rotation also recorded the hosts' root 1. */
  rootOneFile: string | null;
}

interface RootKey { fingerprint: string; armored: string }

async function keysInFile(path: string): Promise<RootKey[]> {
  let armored: string;
  try {
    armored = readFileSync(path, 'utf8');
  } catch (err) {
    throw new TideError('usage', `cannot read the public key: ${(err as Error).message}`, { file: path });
  }
  try {
    return (await readKeys({ armoredKeys: armored })).map((k) => ({ fingerprint: k.getFingerprint().toLowerCase(), armored: k.toPublic().armor() }));
  } catch (err) {
    throw new TideError('usage', `expected an armored OpenPGP public key: ${(err as Error).message}`, { file: path });
  }
}

async function rootKeys(document: RootDocument): Promise<RootKey[]> {
  const trusted = await keysOfRoot(document, {});
  return document.keys.map((armored, i) => ({ fingerprint: trusted[i]!.fingerprint, armored }));
}

/** The tree's newest root, or root 1 built from --current (and written to keys/root.1.json). */
async function previousRoot(request: RotateRequest, now: Date): Promise<{ root: TrustedRoot; keys: RootKey[]; rootOne?: RootDocument }> {
  const newest = await readNewestTreeRoot(request.tree);
  if (newest) {
    if (request.current?.length) throw new TideError('usage', `the tree already has ${rootPath(newest.root.version)}; --current is only for the first rotation`);
    return { root: newest.root, keys: await rootKeys(newest.document) };
  }
  if (!request.current?.length) {
    throw new TideError('usage', 'the tree has no keys/root.<N>.json yet: name the keys hosts trust now (the config\'s keys) with --current PUB.asc ... and their threshold with --current-threshold N');
  }
  if (!request.app) throw new TideError('usage', 'release rotate-keys: --app is required for the first rotation');
  const keys = (await Promise.all(request.current.map(keysInFile))).flat();
  const threshold = request.currentThreshold ?? 1;
  const rootOne: RootDocument = {
    schema: 1, app: request.app, version: 1, published: isoSeconds(now), expires: isoSeconds(new Date(now.getTime() + (request.expiresInMs ?? defaultRootExpiresInMs))),
    threshold, keys: keys.map((k) => k.armored),
  };
  const trusted = await keysOfRoot(rootOne, {});
  return { root: configRoot(request.app, trusted, threshold), keys, rootOne };
}

async function nextKeys(previous: RootKey[], request: RotateRequest): Promise<RootKey[]> {
  const removed = (request.remove ?? []).map(normalizeFingerprint);
  for (const fingerprint of removed) {
    if (!previous.some((k) => k.fingerprint === fingerprint)) throw new TideError('usage', `--remove ${fingerprint}: no such key in the current root`);
  }
  const keys = previous.filter((k) => !removed.includes(k.fingerprint));
  for (const added of (await Promise.all((request.add ?? []).map(keysInFile))).flat()) {
    if (keys.some((k) => k.fingerprint === added.fingerprint)) throw new TideError('usage', `--add: key ${added.fingerprint} is already in the root`);
    keys.push(added);
  }
  if (keys.length === 0) throw new TideError('usage', 'the new root would hold no key');
  return keys;
}

/** Every threshold must be met by the --key given, before anything is signed. */
function checkSigners(signers: readonly SigningKey[], previous: TrustedRoot, keys: RootKey[], threshold: number): void {
  const inOld = signers.filter((s) => previous.keys.some((k) => k.fingerprint === s.fingerprint));
  const inNew = signers.filter((s) => keys.some((k) => k.fingerprint === s.fingerprint));
  const stray = signers.find((s) => !inOld.includes(s) && !inNew.includes(s));
  if (stray) throw new TideError('usage', `--key ${stray.fingerprint} is in neither root ${previous.version} nor root ${previous.version + 1}`, { file: stray.source });
  const version = previous.version + 1;
  if (inOld.length < previous.threshold) {
    throw new TideError('threshold', `root ${version} needs ${previous.threshold} signature(s) by keys of root ${previous.version}; --key gives ${inOld.length}`);
  }
  if (inNew.length < threshold) throw new TideError('threshold', `root ${version} needs ${threshold} signature(s) by its own keys; --key gives ${inNew.length}`);
}

/** SPEC trust.md#sequence-floors: the tree's current sequence of every channel, and of its revocations. */
function currentSequences(tree: string, app: string): RootSequences {
  const channels: Record<string, number> = {};
  let names: string[] = [];
  try {
    names = readdirSync(inTree(tree, 'channels')).filter((n) => /^[^.].*\.json$/.test(n));
  } catch {
    // no channel promoted yet
  }
  for (const name of names) {
    const file = inTree(tree, `channels/${name}`);
    const pointer = parseChannelPointer(readIfExists(file)!, { file });
    if (pointer.app === app) channels[pointer.channel] = pointer.sequence;
  }
  const revocations = readRevocations(tree, app)?.sequence;
  return { channels, ...(revocations !== undefined && { revocations }) };
}

async function writeSigned(tree: string, version: number, document: RootDocument, signers: readonly SigningKey[], now: Date): Promise<{ file: string; bytes: Buffer; asc: string }> {
  const file = inTree(tree, rootPath(version));
  if (readIfExists(file)) throw new TideError('usage', `${rootPath(version)} already exists`, { file });
  const bytes = Buffer.from(JSON.stringify(document, null, 2) + '\n');
  const asc = await signDetached(bytes, signers, now);
  return { file, bytes, asc };
}

export async function rotateKeys(request: RotateRequest): Promise<RotatedRoot> {
  const now = request.now ?? new Date();
  const expiresInMs = request.expiresInMs ?? defaultRootExpiresInMs;
  const previous = await previousRoot(request, now);
  const app = checkName('app', request.app ?? previous.root.app);
  if (app !== previous.root.app) throw new TideError('usage', `the tree's root is for app ${previous.root.app}, not ${app}`);
  const keys = await nextKeys(previous.keys, request);
  const threshold = request.threshold ?? previous.root.threshold;
  if (!(Number.isInteger(threshold) && threshold >= 1 && threshold <= keys.length)) {
    throw new TideError('usage', `--threshold must be from 1 to ${keys.length} (the new root's keys), got ${threshold}`);
  }
  const revoked = readRevocations(request.tree, app)?.keys ?? [];
  refuseRevokedSigners(revoked, request.signingKeys);
  const revokedAdded = keys.find((k) => revoked.includes(k.fingerprint));
  if (revokedAdded) throw new TideError('revoked', `key ${revokedAdded.fingerprint} is revoked; hosts ignore its signatures, in any root`);
  checkSigners(request.signingKeys, previous.root, keys, threshold);
  const version = previous.root.version + 1;
  const sequences = request.keepSequences ? undefined : currentSequences(request.tree, app);
  const document: RootDocument = {
    schema: 1, app, version, published: isoSeconds(now), expires: isoSeconds(new Date(now.getTime() + expiresInMs)),
    threshold, keys: keys.map((k) => k.armored), ...(sequences && { sequences }),
  };
  const next = await writeSigned(request.tree, version, document, request.signingKeys, now);
  // The host's own check, before anything is written.
  await verifyNextRoot(previous.root, next.bytes, next.asc, { app, revokedKeys: revoked, now, where: { file: next.file } });
  mkdirSync(inTree(request.tree, treePaths.keysDir), { recursive: true, mode: 0o755 });
  let rootOneFile: string | null = null;
  if (previous.rootOne) {
    const oldSigners = request.signingKeys.filter((s) => previous.root.keys.some((k) => k.fingerprint === s.fingerprint));
    const one = await writeSigned(request.tree, 1, previous.rootOne, oldSigners, now);
    writeFileAtomic(treePaths.signatureOf(one.file), one.asc);
    writeFileAtomic(one.file, one.bytes);
    rootOneFile = one.file;
  }
  // The signature first, as publish does.
  writeFileAtomic(treePaths.signatureOf(next.file), next.asc);
  writeFileAtomic(next.file, next.bytes);
  return {
    version, file: next.file, signatureFile: treePaths.signatureOf(next.file), fingerprints: keys.map((k) => k.fingerprint),
    threshold, expires: document.expires, sequences: sequences ?? null, rootOneFile,
  };
}
