// Stage a verified release: download every artifact (hash-checked while streaming),
// extract the bundle into a staging dir under every bundle rule (while it downloads;
// the tree counts only once its bytes are proven the signed ones; a release with a
// tree.json has each entry compared with it as it is written), check the
// [[link]] targets, then move it into versions/<version>. Nothing here touches
// the running version: on any refusal the staging dir is removed.
import { digestFile } from '../store/file-digest.js';
import { mkdirSync, renameSync, rmSync, rmdirSync, existsSync, readdirSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ExitCode, TideError, exitCodeOf, isTideError } from '../errors.js';
import { cleanUpOnEscape } from '../system/last-resort.js';
import type { ReleaseManifest, BundleArtifact } from '../documents/schemas.js';
import { extractBundle } from '../bundle/extract.js';
import { extractWhileDownloading } from '../bundle/extract-while-downloading.js';
import type { BundleTotals } from '../bundle/read-archive.js';
import { resolveOwner } from '../system/owner.js';
import { downloadFromFirstGood } from '../mirror/fetch-from-mirrors.js';
import { fsyncDir, fsyncTree, syncfsIsDurable, writeFileAtomic } from '../store/atomic.js';
import type { RunResult } from '../system/process-runner.js';
import { checkLinkTargets, readVersionLink } from '../store/version-links.js';
import type { MachineContext } from './context.js';
import { fetchVerifiedTree, stageDelta, type ArtifactTransfer } from './stage-delta.js';
import type { CheckedTree } from '../bundle/tree-document.js';
import { stageOciImage } from './stage-oci-image.js';

export interface StagedRelease {
  version: string;
  versionDir: string;
  manifest: ReleaseManifest;
  /** SPEC commands.md#tide-update: per artifact, bytes fetched and reused, and how. */
  transfers: ArtifactTransfer[];
}

export function bundleOf(manifest: ReleaseManifest): BundleArtifact {
  return manifest.artifacts.find((a): a is BundleArtifact => a.type === 'bundle')!;
}

/** SPEC host-layout.md#staging: leftovers of an interrupted staging are garbage; remove them first. */
export function clearStaging(ctx: MachineContext): void {
  rmSync(ctx.layout.staging, { recursive: true, force: true });
}

/** A fresh directory name under staging/ (the extractor creates it). */
function newStagingDir(ctx: MachineContext, version: string): string {
  mkdirSync(ctx.layout.staging, { recursive: true, mode: 0o755 });
  return join(ctx.layout.staging, `${version}-${randomBytes(4).toString('hex')}`);
}

const bundleFile = (manifest: ReleaseManifest): string => `releases/${manifest.version}/${bundleOf(manifest).path}`;

/** A refusal of the bundle names the bundle's file. */
const inBundle = (err: unknown, manifest: ReleaseManifest): unknown => (isTideError(err) ? err.at({ file: bundleFile(manifest) }) : err);

/**
 * The bundle is extracted while it downloads, in one pass (docs/benchmarks.md).
 * Returns the staged tree, or undefined when it is not proven to be the signed
 * bundle's: then the verified file is extracted again.
 */
async function downloadBundleWhileStaging(ctx: MachineContext, manifest: ReleaseManifest, mirrors: string[], dest: string, tree: CheckedTree | undefined): Promise<string | undefined> {
  const bundle = bundleOf(manifest);
  const path = bundleFile(manifest);
  const stagingDir = newStagingDir(ctx, manifest.version);
  const staging = extractWhileDownloading({
    bundle: { partPath: `${dest}.part`, finalPath: dest, size: bundle.size },
    stagingDir,
    maxUnpacked: ctx.config.max_unpacked,
    owner: resolveOwner(ctx.config.owner),
    tree,
  });
  const bar = ctx.progress?.(path, bundle.size);
  try {
    // Not durable: the bundle is deleted once its tree is staged (see ExpectedArtifact).
    const expect = { size: bundle.size, sha256: bundle.sha256, durable: false };
    await downloadFromFirstGood(mirrors, path, expect, dest, ctx.client, ctx.logger, (bytes, total) => {
      staging.written(bytes);
      bar?.(bytes, total);
    });
  } catch (err) {
    await staging.abandon();
    throw err;
  }
  const outcome = await staging.finish();
  if (outcome.staged) return acceptStaged(ctx, manifest, stagingDir, outcome.totals);
  ctx.logger.log('debug', { event: 'stage', message: `extracting the verified ${path} again: ${outcome.reason}`, to: manifest.version });
  return undefined;
}

interface Downloaded {
  /** The release's staged tree, when it was staged on the way (from the tree, or while the bundle downloaded). */
  stagingDir?: string;
  /** The verified tree.json, when the release has one; a tree staged from the bundle must agree with it. */
  tree?: CheckedTree;
  /** Staged from the tree, not the bundle. */
  delta: boolean;
  transfers: ArtifactTransfer[];
}

/**
 * Downloads every artifact, staging from a kept version's files and the missing objects
 * when the release's tree allows (SPEC formats.md#the-tree-artifact), else from the bundle.
 */
async function downloadArtifacts(ctx: MachineContext, manifest: ReleaseManifest, mirrors: string[]): Promise<Downloaded> {
  const dir = ctx.layout.artifactsDir(manifest.version);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const tree = await fetchVerifiedTree(ctx, manifest, mirrors);
  const delta = tree ? await stageDelta(ctx, manifest, mirrors, tree, installedVersions(ctx)) : undefined;
  const downloaded: Downloaded = { stagingDir: delta?.stagingDir, tree, delta: delta !== undefined, transfers: delta ? [delta.transfer] : [] };
  for (const artifact of manifest.artifacts) {
    if (artifact.type === 'tree' || (artifact.type === 'bundle' && delta)) continue;
    const dest = join(dir, artifact.path);
    const path = `releases/${manifest.version}/${artifact.path}`;
    const full: ArtifactTransfer = { path, type: artifact.type, how: 'full', fetchedBytes: artifact.size, reusedBytes: 0 };
    const had = await fileMatches(dest, artifact);
    if (!had) {
      mkdirSync(dirname(dest), { recursive: true, mode: 0o755 });
      ctx.logger.log('info', { event: 'download', message: `downloading ${path} (${artifact.size} bytes)`, to: manifest.version });
      if (artifact.type === 'bundle') downloaded.stagingDir = await downloadBundleWhileStaging(ctx, manifest, mirrors, dest, tree);
      else await downloadFromFirstGood(mirrors, path, { size: artifact.size, sha256: artifact.sha256 }, dest, ctx.client, ctx.logger, ctx.progress?.(path, artifact.size));
    }
    const indexBytes = had ? 0 : artifact.size;
    if (artifact.type === 'image' && artifact.layout === 'oci') {
      // SPEC formats.md#oci-layout-images: the index names blobs; only those no kept version holds are fetched.
      const blobs = await stageOciImage(ctx, manifest, artifact, mirrors, keptFirst(ctx));
      downloaded.transfers.push({ ...blobs, fetchedBytes: blobs.fetchedBytes + indexBytes });
      continue;
    }
    downloaded.transfers.push({ ...full, fetchedBytes: indexBytes });
  }
  writeFileAtomic(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return downloaded;
}

/** SPEC host-layout.md#links: the [[link]] targets must be in the tree; a refusal removes it. */
function acceptStaged(ctx: MachineContext, manifest: ReleaseManifest, stagingDir: string, totals: BundleTotals): string {
  try {
    ctx.logger.log('info', { event: 'stage', message: `extracted ${totals.entries} entries (${totals.unpackedBytes} bytes) of ${manifest.version}`, to: manifest.version });
    checkLinkTargets(stagingDir, ctx.config.link, manifest.version);
    return stagingDir;
  } catch (err) {
    rmSync(stagingDir, { recursive: true, force: true });
    throw inBundle(err, manifest);
  }
}

/** Extract the verified bundle file: the authoritative path, whose refusals are final. */
async function extractInto(ctx: MachineContext, manifest: ReleaseManifest, tree: CheckedTree | undefined): Promise<string> {
  const stagingDir = newStagingDir(ctx, manifest.version);
  const archivePath = join(ctx.layout.artifactsDir(manifest.version), bundleOf(manifest).path);
  let totals: BundleTotals;
  try {
    const owner = resolveOwner(ctx.config.owner);
    // extractBundle leaves no staging dir behind when it fails.
    totals = await extractBundle({ archivePath, stagingDir, maxUnpacked: ctx.config.max_unpacked, owner, tree });
  } catch (err) {
    throw inBundle(err, manifest);
  }
  return acceptStaged(ctx, manifest, stagingDir, totals);
}

export async function stageRelease(ctx: MachineContext, manifest: ReleaseManifest, mirrors: string[]): Promise<StagedRelease> {
  // An error that escapes staging's promises still leaves nothing half-staged behind.
  const stopCleanup = cleanUpOnEscape((err) => {
    clearStaging(ctx);
    if (exitCodeOf(err) === ExitCode.refused) forgetArtifacts(ctx, manifest.version);
  });
  try {
    return await stageVerified(ctx, manifest, mirrors);
  } finally {
    stopCleanup();
  }
}

async function stageVerified(ctx: MachineContext, manifest: ReleaseManifest, mirrors: string[]): Promise<StagedRelease> {
  const version = manifest.version;
  let downloaded: Downloaded;
  try {
    downloaded = await downloadArtifacts(ctx, manifest, mirrors);
  } catch (err) {
    // A refusal (tampered, oversized) leaves nothing behind; a network failure keeps .part files to resume.
    if (isTideError(err) && err.exitCode === 3) forgetArtifacts(ctx, version);
    else removeIfEmpty(ctx.layout.artifactsDir(version));
    throw err;
  }
  const streamed = downloaded.stagingDir;
  let stagingDir: string | undefined;
  let synced: Promise<RunResult> | undefined;
  try {
    stagingDir = streamed ?? (await extractInto(ctx, manifest, downloaded.tree));
    // Its bytes are in the tree now. Removed before the sync, its pages are dropped, never written.
    await rm(join(ctx.layout.artifactsDir(version), bundleOf(manifest).path), { force: true });
    // Crash safety: the staged files reach the disk before `current` can ever name them (the
    // rename below waits for it). Every byte of the tree is written by now; the checks that
    // follow only read it, so the disk writes while they run.
    synced = ctx.runner.run(['sync', '-f', stagingDir]);
    synced.catch(() => undefined); // awaited below, or moot once the staging dir is removed
    // SPEC host-layout.md#links: a tree staged from objects must hold the [[link]] targets too.
    if (downloaded.delta) checkLinkTargets(stagingDir, ctx.config.link, manifest.version);
    await ctx.images?.load(manifest);
  } catch (err) {
    await synced?.catch(() => undefined);
    if (stagingDir) rmSync(stagingDir, { recursive: true, force: true });
    forgetArtifacts(ctx, version);
    throw err;
  }
  reportTransfers(ctx, manifest, downloaded.transfers);
  const sync = await synced!;
  if (sync.code !== 0) {
    // Never a version on faith: without syncfs, every file of the tree is fsynced in turn.
    const why = sync.spawnError ?? (sync.stderr.trim().split('\n').pop() || `exit ${sync.code ?? sync.signal}`);
    ctx.logger.log('warn', { event: 'stage', message: `sync -f ${stagingDir} failed (${why}); fsyncing each staged file instead`, version });
    fsyncTree(stagingDir!);
  } else if (!syncfsIsDurable(stagingDir!)) {
    // FUSE: the sync reached the daemon, not its disk. A bundle's files were fsynced as
    // they were written; a delta's copies were not.
    ctx.logger.log('debug', { event: 'stage', message: `${stagingDir} is on FUSE, where sync -f does not reach the disk: fsyncing each staged file`, version });
    fsyncTree(stagingDir!);
  }
  const versionDir = ctx.layout.versionDir(version);
  mkdirSync(ctx.layout.versions, { recursive: true, mode: 0o755 });
  if (existsSync(versionDir) && readVersionLink(ctx.layout.current) !== version) rmSync(versionDir, { recursive: true, force: true });
  renameSync(stagingDir, versionDir);
  fsyncDir(ctx.layout.versions);
  return { version, versionDir, manifest, transfers: downloaded.transfers };
}

/** One line per artifact: what it cost (SPEC commands.md#tide-update). */
function reportTransfers(ctx: MachineContext, manifest: ReleaseManifest, transfers: readonly ArtifactTransfer[]): void {
  for (const t of transfers) {
    const from = t.from ? ` from ${t.from}` : '';
    ctx.logger.log('info', {
      event: 'transfer',
      message: `${t.path}: ${t.how}${from}, ${t.fetchedBytes} bytes fetched, ${t.reusedBytes} bytes reused`,
      to: manifest.version, file: t.path, how: t.how, fetchedBytes: t.fetchedBytes, reusedBytes: t.reusedBytes,
    });
  }
}

/** Remove a version's downloaded artifacts unless an installed version still needs them. */
export function forgetArtifacts(ctx: MachineContext, version: string): void {
  if ([readVersionLink(ctx.layout.current), readVersionLink(ctx.layout.previous)].includes(version)) return;
  rmSync(ctx.layout.artifactsDir(version), { recursive: true, force: true });
}

/** The installed versions, the current one first: its kept blobs are the likeliest to be shared. */
function keptFirst(ctx: MachineContext): string[] {
  const current = readVersionLink(ctx.layout.current);
  return installedVersions(ctx).sort((a, b) => Number(b === current) - Number(a === current));
}

export function installedVersions(ctx: MachineContext): string[] {
  try {
    return readdirSync(ctx.layout.versions);
  } catch {
    return [];
  }
}

/** A download that failed before its first byte leaves no empty directory behind. */
function removeIfEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // Not empty (a part file to resume) or not there: keep it as it is.
  }
}

/** A verified artifact kept from an earlier run need not be downloaded again. */
async function fileMatches(path: string, expect: { size: number; sha256: string }): Promise<boolean> {
  try {
    if (statSync(path).size !== expect.size) return false;
  } catch {
    return false;
  }
  return (await digestFile(path)).sha256 === expect.sha256;
}
