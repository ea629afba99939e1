// Stage a verified release: download every artifact (hash-checked while streaming),
// extract the bundle into a staging dir under every bundle rule (while it downloads;
// the tree counts only once its bytes are proven the signed ones), check the
// [[link]] targets, then move it into versions/<version>. Nothing here touches
// the running version: on any refusal the staging dir is removed.
import { digestFile } from '../store/file-digest.js';
import { mkdirSync, renameSync, rmSync, rmdirSync, existsSync, readdirSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ExitCode, exitCodeOf, isTideError } from '../errors.js';
import { cleanUpOnEscape } from '../system/last-resort.js';
import type { ReleaseManifest, BundleArtifact } from '../documents/schemas.js';
import { extractBundle } from '../bundle/extract.js';
import { extractWhileDownloading } from '../bundle/extract-while-downloading.js';
import type { BundleTotals } from '../bundle/read-archive.js';
import { resolveOwner } from '../system/owner.js';
import { downloadFromFirstGood } from '../mirror/fetch-from-mirrors.js';
import { fsyncDir, writeFileAtomic } from '../store/atomic.js';
import { checkLinkTargets, readVersionLink } from '../store/version-links.js';
import type { MachineContext } from './context.js';

export interface StagedRelease {
  version: string;
  versionDir: string;
  manifest: ReleaseManifest;
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
async function downloadBundleWhileStaging(ctx: MachineContext, manifest: ReleaseManifest, mirrors: string[], dest: string): Promise<string | undefined> {
  const bundle = bundleOf(manifest);
  const path = bundleFile(manifest);
  const stagingDir = newStagingDir(ctx, manifest.version);
  const staging = extractWhileDownloading({
    bundle: { partPath: `${dest}.part`, finalPath: dest, size: bundle.size },
    stagingDir,
    maxUnpacked: ctx.config.max_unpacked,
    owner: resolveOwner(ctx.config.owner),
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

/** Downloads every artifact; returns the bundle's staged tree when it was extracted on the way. */
async function downloadArtifacts(ctx: MachineContext, manifest: ReleaseManifest, mirrors: string[]): Promise<string | undefined> {
  const dir = ctx.layout.artifactsDir(manifest.version);
  let stagingDir: string | undefined;
  for (const artifact of manifest.artifacts) {
    const dest = join(dir, artifact.path);
    if (await fileMatches(dest, artifact)) continue;
    mkdirSync(dirname(dest), { recursive: true, mode: 0o755 });
    const path = `releases/${manifest.version}/${artifact.path}`;
    ctx.logger.log('info', { event: 'download', message: `downloading ${path} (${artifact.size} bytes)`, to: manifest.version });
    if (artifact.type === 'bundle') stagingDir = await downloadBundleWhileStaging(ctx, manifest, mirrors, dest);
    else await downloadFromFirstGood(mirrors, path, { size: artifact.size, sha256: artifact.sha256 }, dest, ctx.client, ctx.logger, ctx.progress?.(path, artifact.size));
  }
  writeFileAtomic(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return stagingDir;
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
async function extractInto(ctx: MachineContext, manifest: ReleaseManifest): Promise<string> {
  const stagingDir = newStagingDir(ctx, manifest.version);
  const archivePath = join(ctx.layout.artifactsDir(manifest.version), bundleOf(manifest).path);
  let totals: BundleTotals;
  try {
    const owner = resolveOwner(ctx.config.owner);
    // extractBundle leaves no staging dir behind when it fails.
    totals = await extractBundle({ archivePath, stagingDir, maxUnpacked: ctx.config.max_unpacked, owner });
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
  let streamed: string | undefined;
  try {
    streamed = await downloadArtifacts(ctx, manifest, mirrors);
  } catch (err) {
    // A refusal (tampered, oversized) leaves nothing behind; a network failure keeps .part files to resume.
    if (isTideError(err) && err.exitCode === 3) forgetArtifacts(ctx, version);
    else removeIfEmpty(ctx.layout.artifactsDir(version));
    throw err;
  }
  let stagingDir: string;
  try {
    stagingDir = streamed ?? (await extractInto(ctx, manifest));
    await ctx.images?.load(manifest);
  } catch (err) {
    if (streamed) rmSync(streamed, { recursive: true, force: true });
    forgetArtifacts(ctx, version);
    throw err;
  }
  // Its bytes are in the tree now. Removed before the sync, its pages are dropped, never written.
  await rm(join(ctx.layout.artifactsDir(version), bundleOf(manifest).path), { force: true });
  // Crash safety: the staged files reach the disk before `current` can ever name them.
  // Their data is already there (the writer fsyncs each file); this is the metadata.
  await ctx.runner.run(['sync', '-f', stagingDir]);
  const versionDir = ctx.layout.versionDir(version);
  mkdirSync(ctx.layout.versions, { recursive: true, mode: 0o755 });
  if (existsSync(versionDir) && readVersionLink(ctx.layout.current) !== version) rmSync(versionDir, { recursive: true, force: true });
  renameSync(stagingDir, versionDir);
  fsyncDir(ctx.layout.versions);
  return { version, versionDir, manifest };
}

/** Remove a version's downloaded artifacts unless an installed version still needs them. */
export function forgetArtifacts(ctx: MachineContext, version: string): void {
  if ([readVersionLink(ctx.layout.current), readVersionLink(ctx.layout.previous)].includes(version)) return;
  rmSync(ctx.layout.artifactsDir(version), { recursive: true, force: true });
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
