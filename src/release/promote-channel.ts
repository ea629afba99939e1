// `tide release promote`: point a channel at a built, signed release.
// SPEC formats.md#sequence-and-expiry: the sequence strictly increases per channel and the
// pointer expires, so the release engineer re-promotes before it does.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { TideError } from '../errors.js';
import { parseChannelPointer, parseReleaseManifest } from '../documents/parse-document.js';
import type { ChannelPointer, ReleaseManifest } from '../documents/schemas.js';
import { writeFileAtomic } from '../store/atomic.js';
import {
  checkName, checkVersion, defaultExpiresInMs, digestBytes, digestFile, inTree, isoSeconds, readIfExists, treePaths,
} from './release-tree.js';
import { signDetached, type SigningKey } from './sign-files.js';
import { readRevocations, refuseRevokedSigners } from './revoke-releases.js';
import { recheckAsHost } from './host-recheck.js';
import { chooseFallback, refuseFallback, type FallbackRequest } from './rollout-fallback.js';

export interface PromoteRequest {
  tree: string;
  app: string;
  channel: string;
  version: string;
  signingKeys: readonly SigningKey[];
  /** From now; default 30 days. */
  expiresInMs?: number;
  /** SPEC formats.md#rollout: `rollout.percent`; absent means 100. */
  rolloutPercent?: number;
  /** SPEC formats.md#rollout-fallback: `--fallback V`, `--no-fallback` (null); default the channel's previous full release. */
  fallback?: FallbackRequest;
  now?: Date;
}

export interface PromotedChannel {
  pointer: ChannelPointer;
  pointerFile: string;
  signatureFile: string;
  /** The sequence of the pointer this one replaces, or null for a new channel. */
  previousSequence: number | null;
  previousVersion: string | null;
  /** The root of the tree the pointer and manifest were re-checked with (1: the signing keys). */
  checkedWithRoot: number;
  /** What hosts would ignore with a warning (revocations signed by keys no longer trusted). */
  warnings: string[];
  /** With --rollout below 100: which fallback the pointer names and why, or why none. */
  fallbackNote: string;
}

export async function promoteChannel(request: PromoteRequest): Promise<PromotedChannel> {
  const app = checkName('app', request.app);
  const channel = checkName('channel', request.channel);
  const version = checkVersion(request.version);
  const now = request.now ?? new Date();
  const expiresInMs = request.expiresInMs ?? defaultExpiresInMs;
  if (!(expiresInMs > 0)) throw new TideError('usage', `--expires must be a positive duration, got ${expiresInMs} ms`);
  checkRollout(request.rolloutPercent);
  const revocations = readRevocations(request.tree, app);
  if (revocations?.versions.includes(version)) {
    // SPEC formats.md#revocations: a host never installs a revoked version.
    throw new TideError('revoked', `release ${version} is revoked; hosts would never install it`, { file: inTree(request.tree, treePaths.revocations) });
  }
  refuseRevokedSigners(revocations?.keys ?? [], request.signingKeys);
  const manifestPath = treePaths.manifest(version);
  const manifestBytes = await readSignedRelease(request.tree, app, version);
  const pointerPath = treePaths.channel(channel);
  const previous = readPreviousPointer(request.tree, pointerPath, app, channel);
  const choice = chooseFallback(request.fallback, previous, version, request.rolloutPercent);
  if (choice.version !== undefined) refuseFallback(request.tree, choice.version, version, revocations?.versions ?? []);
  const fallbackBytes = choice.version === undefined ? undefined : await readSignedRelease(request.tree, app, choice.version);
  const pointer: ChannelPointer = {
    schema: 1,
    app,
    channel,
    version,
    sequence: (previous?.sequence ?? 0) + 1,
    published: isoSeconds(now),
    expires: isoSeconds(new Date(now.getTime() + expiresInMs)),
    manifest: { path: manifestPath, ...digestBytes(manifestBytes) },
    ...(request.rolloutPercent !== undefined ? { rollout: { percent: request.rolloutPercent } } : {}),
    ...(choice.version !== undefined && fallbackBytes && {
      fallback: { version: choice.version, manifest: { path: treePaths.manifest(choice.version), ...digestBytes(fallbackBytes) } },
    }),
  };
  const pointerBytes = Buffer.from(JSON.stringify(pointer, null, 2) + '\n');
  const pointerFile = inTree(request.tree, pointerPath);
  const signatureFile = treePaths.signatureOf(pointerFile);
  const pointerAsc = await signDetached(pointerBytes, request.signingKeys, now);
  // Checked as a host would check it (newest root of the tree, revocations) before anything is written.
  const ascOf = (path: string) => readIfExists(inTree(request.tree, treePaths.signatureOf(path)))!.toString('utf8');
  const recheck = await recheckAsHost({
    tree: request.tree, app, channel, now, signingKeys: request.signingKeys,
    pointer: { bytes: pointerBytes, asc: pointerAsc }, manifest: { bytes: manifestBytes, asc: ascOf(manifestPath) },
    ...(pointer.fallback && fallbackBytes && { fallbackManifest: { bytes: fallbackBytes, asc: ascOf(pointer.fallback.manifest.path) } }),
  });
  mkdirSync(inTree(request.tree, 'channels'), { recursive: true, mode: 0o755 });
  // The signature first, as publish does: whoever reads the new pointer finds its signature.
  writeFileAtomic(signatureFile, pointerAsc);
  writeFileAtomic(pointerFile, pointerBytes);
  return {
    pointer,
    pointerFile,
    signatureFile,
    previousSequence: previous?.sequence ?? null,
    previousVersion: previous?.version ?? null,
    checkedWithRoot: recheck.rootVersion,
    warnings: recheck.warnings,
    fallbackNote: choice.note,
  };
}

function checkRollout(percent: number | undefined): void {
  if (percent === undefined) return;
  if (!Number.isFinite(percent) || percent < 0 || percent > 100) {
    throw new TideError('usage', `--rollout must be a percentage from 0 to 100, got ${percent}`);
  }
}

/**
 * The manifest's bytes, after checking what a host would check later: it is
 * signed, it names this app and version, and every artifact it names is there
 * with its size and sha256. A pointer to a broken release must not leave the building.
 */
async function readSignedRelease(tree: string, app: string, version: string): Promise<Buffer> {
  const manifestPath = treePaths.manifest(version);
  const where = { file: inTree(tree, manifestPath) };
  const bytes = readIfExists(where.file);
  if (!bytes) throw new TideError('usage', `release ${version} has no manifest: run tide release build first`, where);
  if (!existsSync(inTree(tree, treePaths.signatureOf(manifestPath)))) {
    throw new TideError('signature', `release ${version} is not signed: run tide release sign --key KEY ${where.file}`, where);
  }
  const manifest = parseReleaseManifest(bytes, where);
  if (manifest.app !== app) throw new TideError('wrong-app', `expected a manifest for app ${app}, found ${manifest.app}`, where);
  if (manifest.version !== version) {
    throw new TideError('schema', `expected a manifest for version ${version}, found ${manifest.version}`, where);
  }
  await checkArtifacts(tree, manifest);
  return bytes;
}

async function checkArtifacts(tree: string, manifest: ReleaseManifest): Promise<void> {
  for (const artifact of manifest.artifacts) {
    const file = join(inTree(tree, treePaths.releaseDir(manifest.version)), artifact.path);
    const found = existsSync(file) ? await digestFile(file) : undefined;
    if (!found) throw new TideError('usage', `artifact ${artifact.path} named by the manifest is missing`, { file });
    if (found.size !== artifact.size) {
      throw new TideError('size', `expected ${artifact.size} bytes as the manifest says, found ${found.size}`, { file });
    }
    if (found.sha256 !== artifact.sha256) {
      throw new TideError('hash', `expected sha256 ${artifact.sha256} as the manifest says, found ${found.sha256}`, { file });
    }
  }
}

function readPreviousPointer(tree: string, pointerPath: string, app: string, channel: string): ChannelPointer | undefined {
  const where = { file: inTree(tree, pointerPath) };
  const bytes = readIfExists(where.file);
  if (!bytes) return undefined;
  const previous = parseChannelPointer(bytes, where);
  if (previous.app !== app) throw new TideError('wrong-app', `expected channel ${channel} of app ${app}, found app ${previous.app}`, where);
  if (previous.channel !== channel) {
    throw new TideError('wrong-channel', `expected channel ${channel}, found ${previous.channel}`, where);
  }
  return previous;
}
