// SPEC formats.md#the-tree-artifact, the host's side: fetch and verify a release's
// tree.json, find the kept version to stage it from, and stage it (stage-from-tree.ts),
// or say why not, so the caller falls back to the bundle. What each artifact cost is
// reported per artifact: bytes fetched, bytes reused, and how.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TideError, isTideError } from '../errors.js';
import { limits } from '../limits.js';
import type { ReleaseManifest, TreeArtifact } from '../documents/schemas.js';
import { downloadFromFirstGood } from '../mirror/fetch-from-mirrors.js';
import { sha256Hex } from '../trust/document-checks.js';
import { readKeptManifest } from '../containers/image-artifacts.js';
import type { Layout } from '../store/layout.js';
import { readVersionLink } from '../store/version-links.js';
import { resolveOwner } from '../system/owner.js';
import { droppedDocuments } from '../system/young-garbage.js';
import type { MachineContext } from './context.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { keptTreeOf, planDelta, type KeptTree } from '../bundle/delta-plan.js';
import { stageFromTree } from '../bundle/stage-from-tree.js';
import { parseTreeDocument, type CheckedTree } from '../bundle/tree-document.js';

/** SPEC commands.md#tide-update: what one artifact cost this update. */
export interface ArtifactTransfer {
  /** Mirror-relative path, e.g. releases/1.1.0/demo-1.1.0.tar.gz. */
  path: string;
  type: 'bundle' | 'image' | 'tree';
  /** delta: staged from `from`'s files and the missing objects; full: the artifact downloaded whole. */
  how: 'delta' | 'full';
  /** Bytes received from mirrors for it (objects as served, gzip). */
  fetchedBytes: number;
  /** Bytes taken from a kept version instead of fetched. */
  reusedBytes: number;
  from?: string;
}

export const treeArtifactOf = (manifest: ReleaseManifest): TreeArtifact | undefined =>
  manifest.artifacts.find((a): a is TreeArtifact => a.type === 'tree');

const releaseFile = (manifest: ReleaseManifest, path: string): string => `releases/${manifest.version}/${path}`;

/**
 * The release's verified tree, kept at artifacts/<version>/tree.json; undefined when there is
 * none to use (no tree artifact, over its cap, or no mirror served its signed bytes): then the
 * bundle is the way. A tree whose signed bytes break the bundle rules is refused: the release
 * contradicts itself.
 */
export async function fetchVerifiedTree(ctx: MachineContext, manifest: ReleaseManifest, mirrors: string[]): Promise<CheckedTree | undefined> {
  const artifact = treeArtifactOf(manifest);
  if (!artifact) return undefined;
  const path = releaseFile(manifest, artifact.path);
  if (artifact.size > limits.maxTreeDocumentBytes) {
    // SPEC formats.md#the-tree-artifact: at most 16 MiB; not a byte of it is fetched.
    ctx.logger.log('warn', { event: 'download', message: `refusing ${path}: the manifest says ${artifact.size} bytes, over the ${limits.maxTreeDocumentBytes}-byte cap of tree.json; installing from the bundle`, file: path, result: 'size', to: manifest.version });
    return undefined;
  }
  const dest = join(ctx.layout.artifactsDir(manifest.version), artifact.path);
  let bytes = readIfPresent(dest);
  try {
    if (!bytes || !holds(bytes, artifact)) {
      // Not durable: a kept tree.json is hashed again before every use, so a torn one is merely not a source.
      await downloadFromFirstGood(mirrors, path, { size: artifact.size, sha256: artifact.sha256, durable: false }, dest, ctx.client, ctx.logger);
      bytes = readFileSync(dest);
    }
  } catch (err) {
    if (!isTideError(err) || err.code === 'internal') throw err;
    ctx.logger.log('warn', { event: 'download', message: `no tree for ${manifest.version} (${err.message}); installing from the bundle`, file: path, result: err.code, to: manifest.version });
    return undefined;
  }
  try {
    return parseTreeDocument(bytes, { app: manifest.app, version: manifest.version, maxUnpacked: ctx.config.max_unpacked }, { file: path });
  } catch (err) {
    rmSync(dest, { force: true });
    throw err;
  }
}

/** The file's bytes, or undefined when there is no such file. A tree.json is at most 16 MiB: read whole, hashed, parsed. */
function readIfPresent(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

const holds = (bytes: Buffer, expect: { size: number; sha256: string }): boolean => bytes.length === expect.size && sha256Hex(bytes) === expect.sha256;

/**
 * The verified trees of installed versions: tree.json kept beside a kept manifest, its sha256
 * checked again. A version without one (installed by a tide that predates trees, or from an
 * export file) is no source; a damaged one is none either, and is named in a warning.
 */
export async function readKeptTrees(layout: Layout, versions: readonly string[], logger: Logger = silentLogger): Promise<KeptTree[]> {
  const kept: KeptTree[] = [];
  for (const version of versions) {
    // An unreadable kept manifest: simply no source (the version itself is left as it is).
    const manifest = readKeptManifest(layout, version);
    const artifact = manifest && treeArtifactOf(manifest);
    if (!manifest || !artifact) continue;
    const treeFile = join(layout.artifactsDir(version), artifact.path);
    try {
      const bytes = readIfPresent(treeFile);
      if (!bytes) continue;
      if (!holds(bytes, artifact)) throw new Error(`it is not the ${artifact.size} bytes of sha256 ${artifact.sha256} its manifest names`);
      const tree = parseTreeDocument(bytes, { app: manifest.app, version, maxUnpacked: Number.MAX_SAFE_INTEGER });
      kept.push(keptTreeOf(version, layout.versionDir(version), tree));
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      logger.log('warn', { event: 'stage', message: `not staging from ${version}: its kept tree.json is damaged (${why})`, file: treeFile, from: version });
    }
  }
  return kept;
}

export interface DeltaStaged {
  stagingDir: string;
  transfer: ArtifactTransfer;
}

/**
 * Stage `manifest` from its tree when a kept version shares enough of it; undefined when it
 * does not, or when staging from it failed (logged): the caller stages the bundle instead.
 */
export async function stageDelta(ctx: MachineContext, manifest: ReleaseManifest, mirrors: string[], tree: CheckedTree, installed: readonly string[]): Promise<DeltaStaged | undefined> {
  if (!ctx.client.fetchObject) return undefined;
  // The current version first: on a tie it wins, and its files are the likeliest to be in the page cache.
  const current = readVersionLink(ctx.layout.current);
  const candidates = installed.filter((v) => v !== manifest.version).sort((a, b) => Number(b === current) - Number(a === current));
  const plan = planDelta(tree, await readKeptTrees(ctx.layout, candidates, ctx.logger));
  // The trees' parse (JSON, schema, policy: a few MB per thousand entries) is garbage by now,
  // whether the release stages from a kept version or from its bundle.
  droppedDocuments();
  const treePath = releaseFile(manifest, treeArtifactOf(manifest)!.path);
  if (!plan) {
    ctx.logger.log('info', { event: 'stage', message: `no kept version shares enough of ${manifest.version}'s files: installing from the bundle`, to: manifest.version });
    return undefined;
  }
  const stagingDir = join(ctx.layout.staging, `${manifest.version}-${randomBytes(4).toString('hex')}`);
  ctx.logger.log('info', { event: 'stage', message: `staging ${manifest.version} from ${plan.from.version}: ${plan.reusedBytes} bytes to reuse, ${plan.fetchBytes} bytes of objects to fetch`, from: plan.from.version, to: manifest.version });
  try {
    const staged = await stageFromTree({
      tree, plan, stagingDir, mirrors, client: ctx.client, owner: resolveOwner(ctx.config.owner), logger: ctx.logger, signal: ctx.interrupt.signal,
    });
    const treeSize = treeArtifactOf(manifest)!.size;
    return {
      stagingDir,
      transfer: { path: treePath, type: 'tree', how: 'delta', fetchedBytes: staged.fetchedBytes + treeSize, reusedBytes: staged.reusedBytes, from: plan.from.version },
    };
  } catch (err) {
    if (ctx.interrupt.signal.aborted) throw err;
    const line = err instanceof TideError ? `${err.code}: ${err.message}${err.where.entry ? ` (entry ${JSON.stringify(err.where.entry)})` : ''}` : String(err);
    ctx.logger.log('warn', { event: 'stage', message: `staging ${manifest.version} from its tree failed (${line}); installing from the bundle`, file: treePath, result: err instanceof TideError ? err.code : 'internal', to: manifest.version });
    return undefined;
  }
}
