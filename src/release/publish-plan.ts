// `tide release publish`, part one: decide everything before the first write.
// Which files of the tree go out, in which order, and which a mirror already has;
// refuse, before touching any mirror, what would break a host or a mirror.
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { TideError } from '../errors.js';
import { parseChannelPointer, parseReleaseManifest, parseRevocations } from '../documents/parse-document.js';
import { digestFile, inTree, readIfExists, treePaths, type FileDigest } from './release-tree.js';
import { verifyDetached } from '../trust/verify-signatures.js';
import type { TrustedRoot } from '../trust/trusted-root.js';

/**
 * SPEC formats.md#mirror-tree: in the order a mirror receives it, a reader never sees a
 * pointer before its manifest and artifacts, nor a manifest before its artifacts; and
 * (SPEC trust.md#key-rotation-runbook) never revocations or a pointer signed by new keys
 * before the root that makes them trusted.
 */
export const publishStages = ['artifact', 'manifest', 'root', 'revocations', 'pointer'] as const;
export type PublishStage = (typeof publishStages)[number];

export interface TreeFile extends FileDigest {
  /** Mirror-relative path, e.g. releases/1.2.0/manifest.json. */
  path: string;
  stage: PublishStage;
  /** The file in the release tree. */
  source: string;
}

export interface MirrorPlan {
  mirror: string;
  /** In publishing order. */
  copy: TreeFile[];
  /** Already on the mirror with the same size and sha256. */
  same: TreeFile[];
}

/** Every file to publish, in publishing order: by stage, and each signature before its document. */
export async function listTreeFiles(tree: string): Promise<TreeFile[]> {
  const found: Omit<TreeFile, 'size' | 'sha256'>[] = [];
  const add = (path: string, stage: PublishStage) => found.push({ path, stage, source: inTree(tree, path) });
  // SPEC formats.md#the-tree-artifact: objects go out with the artifacts, before any manifest that needs them.
  for (const path of walkFiles(tree, 'objects')) {
    // SPEC formats.md#oci-layout-images: image blobs at objects/sha256/<hex>.
    if (/^objects\/[0-9a-f]{2}\/[0-9a-f]{64}\.gz$/.test(path) || /^objects\/sha256\/[0-9a-f]{64}$/.test(path)) add(path, 'artifact');
  }
  for (const path of walkFiles(tree, 'releases')) {
    add(path, /^releases\/[^/]+\/manifest\.json(\.asc)?$/.test(path) ? 'manifest' : 'artifact');
  }
  for (const path of walkFiles(tree, treePaths.keysDir)) {
    if (/^keys\/root\.[1-9]\d*\.json(\.asc)?$/.test(path)) add(path, 'root');
  }
  for (const name of [treePaths.revocations, treePaths.signatureOf(treePaths.revocations)]) {
    if (existsSync(inTree(tree, name))) add(name, 'revocations');
  }
  for (const path of walkFiles(tree, 'channels')) {
    if (/^channels\/[^/]+\.json(\.asc)?$/.test(path)) add(path, 'pointer');
  }
  found.sort(publishingOrder);
  const files: TreeFile[] = [];
  for (const file of found) files.push({ ...file, ...(await digestFile(file.source)) });
  checkSigned(files);
  checkPointersComplete(files);
  return files;
}

function publishingOrder(a: Omit<TreeFile, 'size' | 'sha256'>, b: Omit<TreeFile, 'size' | 'sha256'>): number {
  const stage = publishStages.indexOf(a.stage) - publishStages.indexOf(b.stage);
  if (stage !== 0) return stage;
  const documentOf = (path: string) => path.replace(/\.asc$/, '');
  const doc = documentOf(a.path) < documentOf(b.path) ? -1 : documentOf(a.path) > documentOf(b.path) ? 1 : 0;
  if (doc !== 0) return doc;
  // The signature before its document: whoever reads a new document finds its new signature.
  return (b.path.endsWith('.asc') ? 1 : 0) - (a.path.endsWith('.asc') ? 1 : 0);
}

/** Names in a directory that are not hidden (our temp and staging names start with "."). */
function visibleNames(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((name) => !name.startsWith('.')).sort();
}

/** Regular files below `relative`, refusing anything a static server would serve surprisingly. */
function walkFiles(tree: string, relative: string): string[] {
  const files: string[] = [];
  for (const name of visibleNames(inTree(tree, relative))) {
    const path = `${relative}/${name}`;
    const stat = lstatSync(inTree(tree, path));
    if (stat.isDirectory()) files.push(...walkFiles(tree, path));
    else if (stat.isFile()) files.push(path);
    else throw new TideError('usage', 'expected only regular files and directories in the release tree', { file: inTree(tree, path) });
  }
  return files;
}

/** Every document goes out with its signature; a host would refuse it otherwise. */
function checkSigned(files: readonly TreeFile[]): void {
  const paths = new Set(files.map((f) => f.path));
  for (const file of files) {
    const isDocument = file.stage !== 'artifact' && !file.path.endsWith('.asc');
    if (isDocument && !paths.has(treePaths.signatureOf(file.path))) {
      throw new TideError('signature', `${file.path} is not signed: run tide release sign first`, { file: file.source });
    }
  }
}

/**
 * What a mirror holds now, read through one small interface: a directory, a git checkout
 * of a remote, an S3 bucket. Paths are mirror-relative (releases/1.2.0/manifest.json).
 */
export interface MirrorContents {
  /** Size and sha256 of the file, or undefined when absent; `size` lets a file that cannot match skip hashing. */
  digest(path: string, size: number): Promise<FileDigest | undefined>;
  read(path: string): Promise<Buffer | undefined>;
}

/** A directory mirror's contents. */
export function directoryContents(dir: string): MirrorContents {
  const at = (path: string) => join(dir, ...path.split('/'));
  return {
    digest: (path, size) => digestIfFile(at(path), size),
    read: async (path) => readIfExists(at(path)),
  };
}

/** What one mirror needs, refusing a mirror that has other bytes for an immutable file or a newer document. */
export async function planMirror(mirror: string, contents: MirrorContents, files: readonly TreeFile[], trust?: TreeTrust): Promise<MirrorPlan> {
  const plan: MirrorPlan = { mirror, copy: [], same: [] };
  for (const file of files) {
    const existing = await contents.digest(file.path, file.size);
    if (existing && existing.size === file.size && existing.sha256 === file.sha256) {
      plan.same.push(file);
      continue;
    }
    if (existing) await refuseReplacing(file, contents, mirror, trust);
    plan.copy.push(file);
  }
  return plan;
}

/** Hash the mirror's copy only when its size could match. */
async function digestIfFile(path: string, size: number): Promise<FileDigest | undefined> {
  if (!existsSync(path)) return undefined;
  const stat = lstatSync(path);
  if (!stat.isFile()) throw new TideError('usage', 'expected a regular file on the mirror', { file: path });
  return stat.size === size ? digestFile(path) : { size: stat.size, sha256: '' };
}

/** The tree's newest root and revoked keys: what hosts trust once this tree is published. */
export interface TreeTrust {
  root: TrustedRoot;
  revokedKeys: readonly string[];
  now: Date;
}

/** Would a host that trusts the tree's newest root accept these signed bytes at all? */
async function hostsWouldTrust(bytes: Buffer, asc: Buffer | undefined, trust: TreeTrust): Promise<boolean> {
  if (!asc) return false;
  try {
    await verifyDetached({ data: bytes, armoredSignature: asc.toString('utf8'), keys: trust.root.keys, threshold: trust.root.threshold, revokedKeys: trust.revokedKeys, now: trust.now });
    return true;
  } catch {
    return false;
  }
}

async function refuseReplacing(file: TreeFile, contents: MirrorContents, mirror: string, trust?: TreeTrust): Promise<void> {
  const where = { mirror, file: file.path };
  if (file.path.endsWith('.asc')) return; // signatures may gain signers (threshold signing)
  if (file.stage === 'root') {
    // SPEC trust.md#root-documents: root N is written once; another root N would be an equivocation.
    throw new TideError('hash', `the mirror holds a different ${file.path}; a root is never replaced`, where);
  }
  // An object is named by its content, not its gzip bytes: another zlib's bytes for it are as good.
  if (file.path.startsWith('objects/')) return;
  if (file.stage === 'artifact' || file.stage === 'manifest') {
    // SPEC formats.md#words: a release is immutable; other bytes under the same version mean two different builds.
    throw new TideError('hash', `the mirror holds different bytes for ${file.path}; releases are immutable`, where);
  }
  const parse = file.stage === 'pointer' ? parseChannelPointer : parseRevocations;
  const held = (await contents.read(file.path))!;
  let mirrorSequence: number;
  try {
    mirrorSequence = parse(held, where).sequence;
  } catch {
    return; // garbage on an untrusted mirror: replace it
  }
  const ours = parse(readIfExists(file.source)!, { file: file.source }).sequence;
  // SPEC trust.md#sequence-floors: a higher sequence signed by a key rotated away (or revoked) is refused
  // by every host that trusts the tree's newest root: after the rotation it is the thief's, and it goes.
  if (mirrorSequence >= ours && trust && !(await hostsWouldTrust(held, await contents.read(treePaths.signatureOf(file.path)), trust))) return;
  if (mirrorSequence >= ours) {
    // SPEC formats.md#sequence-and-expiry: the sequence strictly increases; never move a mirror backwards or sideways.
    throw new TideError('sequence', `the mirror has sequence ${mirrorSequence} for ${file.path}, the tree has ${ours}: promote again to publish a newer one`, where);
  }
}

/** A pointer is published only when its manifest (and the manifest's artifacts) will be on the mirror. */
function checkPointersComplete(files: readonly TreeFile[]): void {
  const willHave = new Map(files.map((f) => [f.path, f]));
  for (const file of files) {
    if (file.stage !== 'pointer' || file.path.endsWith('.asc')) continue;
    const pointer = parseChannelPointer(readIfExists(file.source)!, { file: file.source });
    const manifest = willHave.get(pointer.manifest.path);
    if (!manifest || manifest.sha256 !== pointer.manifest.sha256 || manifest.size !== pointer.manifest.size) {
      throw new TideError('hash', `${file.path} names ${pointer.manifest.path} with sha256 ${pointer.manifest.sha256}, which the tree does not hold`, { file: file.source });
    }
    const releaseDir = pointer.manifest.path.replace(/\/manifest\.json$/, '');
    for (const artifact of parseReleaseManifest(readIfExists(manifest.source)!, { file: manifest.source }).artifacts) {
      const held = willHave.get(`${releaseDir}/${artifact.path}`);
      if (!held || held.sha256 !== artifact.sha256 || held.size !== artifact.size) {
        throw new TideError('hash', `${pointer.manifest.path} names ${artifact.path} with sha256 ${artifact.sha256}, which the tree does not hold`, { file: manifest.source });
      }
    }
  }
}
