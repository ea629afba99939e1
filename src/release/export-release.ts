// `tide release export` (SPEC trust.md#offline-updates): one file holding what a host
// reads from a mirror for one channel — the pointer, its manifest and artifacts, the
// revocations and the root chain, each with its signature — as a plain tar whose
// member paths are mirror-tree paths (SPEC trust.md#the-export-file). A host reads it
// with `tide update --from FILE` through the same checks as any mirror. An export a
// host would refuse is refused here first.
import { blobsOf, fileHoldsBlob, parseOciIndex, parseOciManifest, type OciBlob } from '../containers/oci-layout.js';
import type { ImageArtifact } from '../documents/schemas.js';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { create } from 'tar';
import { TideError } from '../errors.js';
import { parseChannelPointer, parseReleaseManifest } from '../documents/parse-document.js';
import { rootPath } from '../documents/root-document.js';
import { fsyncDir } from '../store/atomic.js';
import { checkName, digestFile, inTree, readIfExists, treePaths } from './release-tree.js';
import { recheckAsHost } from './host-recheck.js';
import { treeRootVersions } from './tree-roots.js';

export interface ExportRequest {
  tree: string;
  app: string;
  channel: string;
  out: string;
  now?: Date;
}

export interface ExportedChannel {
  file: string;
  channel: string;
  version: string;
  sequence: number;
  expires: string;
  /** Mirror-tree paths in the file, in the order written. */
  paths: string[];
  bytes: number;
  /** What a host would ignore (revocations no longer signed by a trusted root). */
  warnings: string[];
}

function mustRead(tree: string, path: string): Buffer {
  const bytes = readIfExists(inTree(tree, path));
  if (!bytes) throw new TideError('usage', `the release tree has no ${path}`, { file: inTree(tree, path) });
  return bytes;
}

/** The signed documents with their signatures, then the artifacts: every file a host will ask for. */
async function exportedPaths(request: ExportRequest): Promise<{ paths: string[]; pointer: ReturnType<typeof parseChannelPointer>; warnings: string[] }> {
  const { tree, app, channel } = request;
  const pointerPath = treePaths.channel(channel);
  const pointerBytes = mustRead(tree, pointerPath);
  const pointer = parseChannelPointer(pointerBytes, { file: inTree(tree, pointerPath) });
  const signed = (path: string) => ({ bytes: mustRead(tree, path), asc: mustRead(tree, treePaths.signatureOf(path)).toString('utf8') });
  const { warnings } = await recheckAsHost({
    tree, app, channel, now: request.now ?? new Date(), pointer: signed(pointerPath), manifest: signed(pointer.manifest.path),
    ...(pointer.fallback && { fallbackManifest: signed(pointer.fallback.manifest.path) }),
  });
  const withSignature = (path: string) => [path, treePaths.signatureOf(path)];
  const roots = treeRootVersions(tree).filter((v) => v >= 2).flatMap((v) => withSignature(rootPath(v)));
  const revocations = readIfExists(inTree(tree, treePaths.revocations)) ? withSignature(treePaths.revocations) : [];
  // SPEC formats.md#rollout-fallback: a host outside the rollout installs the fallback, so it travels too.
  const releases = [pointer.manifest.path, ...(pointer.fallback ? [pointer.fallback.manifest.path] : [])];
  const releasePaths: string[] = [];
  for (const manifestPath of releases) releasePaths.push(...withSignature(manifestPath), ...(await checkedArtifacts(tree, manifestPath)));
  return { paths: [...roots, ...revocations, ...withSignature(pointerPath), ...releasePaths], pointer, warnings };
}

/** The artifacts a manifest names, each present with its size and sha256. */
async function checkedArtifacts(tree: string, manifestPath: string): Promise<string[]> {
  const manifest = parseReleaseManifest(mustRead(tree, manifestPath), { file: inTree(tree, manifestPath) });
  const releaseDir = dirname(manifestPath);
  for (const artifact of manifest.artifacts) {
    const file = inTree(tree, `${releaseDir}/${artifact.path}`);
    const found = readIfExists(file) === undefined ? undefined : await digestFile(file);
    if (!found || found.size !== artifact.size || found.sha256 !== artifact.sha256) {
      throw new TideError('hash', `artifact ${artifact.path} is missing or not the one the manifest names`, { file });
    }
  }
  const blobs = await Promise.all(manifest.artifacts.map(async (a) => (a.type === 'image' && a.layout === 'oci' ? imageBlobPaths(tree, `${releaseDir}/${a.path}`, a) : [])));
  return [...manifest.artifacts.map((a) => `${releaseDir}/${a.path}`), ...new Set(blobs.flat())];
}

/** SPEC formats.md#oci-layout-images: an oci-layout image travels with its blobs, each checked against its digest. */
async function imageBlobPaths(tree: string, indexPath: string, artifact: ImageArtifact): Promise<string[]> {
  const manifestBlob = parseOciIndex(mustRead(tree, indexPath), artifact);
  const held = async (blob: OciBlob): Promise<string> => {
    const path = `objects/sha256/${blob.hex}`;
    if (!(await fileHoldsBlob(inTree(tree, path), blob))) throw new TideError('hash', `image blob ${path} of ${artifact.image} is missing or not the bytes its digest names`, { file: inTree(tree, path) });
    return path;
  };
  const paths = [await held(manifestBlob)];
  const plan = parseOciManifest(mustRead(tree, paths[0]!), manifestBlob);
  for (const blob of blobsOf(plan).slice(1)) paths.push(await held(blob));
  return paths;
}

export async function exportChannel(request: ExportRequest): Promise<ExportedChannel> {
  checkName('app', request.app);
  checkName('channel', request.channel);
  const { paths, pointer, warnings } = await exportedPaths(request);
  const temp = join(dirname(request.out), `.${basename(request.out)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    // Plain tar (the artifacts are compressed already), portable headers, one fixed mtime.
    await create({ file: temp, cwd: request.tree, portable: true, mtime: new Date(0), noDirRecurse: true }, paths);
    const fd = openSync(temp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, request.out);
  } finally {
    rmSync(temp, { force: true });
  }
  fsyncDir(dirname(request.out));
  return {
    file: request.out, channel: pointer.channel, version: pointer.version, sequence: pointer.sequence, expires: pointer.expires,
    paths, bytes: statSync(request.out).size, warnings,
  };
}
