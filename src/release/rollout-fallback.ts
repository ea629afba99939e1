// SPEC formats.md#rollout-fallback: `tide release promote --rollout P` (P < 100) names a
// fallback in the pointer: the channel's previous fully rolled-out release, which hosts
// outside the bucket install when they have none yet or an older one. Chosen here, from the
// channel's previous pointer (or `--fallback V`), and checked like the release itself: built,
// signed, every artifact present, not revoked, and older than the release.
import semver from 'semver';
import { TideError } from '../errors.js';
import type { ChannelPointer } from '../documents/schemas.js';
import { checkVersion, inTree, treePaths } from './release-tree.js';

/** `--fallback V`, `--no-fallback` (null), or neither (undefined: the channel's previous full release). */
export type FallbackRequest = string | null | undefined;

/** The fallback version to name, and why (or why none). */
export interface FallbackChoice {
  version: string | undefined;
  /** One line for the operator: where the version came from, or why there is none. */
  note: string;
}

/** A pointer with no rollout, or at 100 %, is a full rollout. */
export const isFullRollout = (pointer: ChannelPointer): boolean => (pointer.rollout?.percent ?? 100) >= 100;

/**
 * The channel's previous fully rolled-out release: the previous pointer's version when it
 * was out to everyone, else the fallback it carried (a rollout widened or replaced mid-way
 * keeps the release the whole fleet last had).
 */
export function previousFullRelease(previous: ChannelPointer | undefined, version: string): string | undefined {
  if (!previous) return undefined;
  if (isFullRollout(previous) && previous.version !== version) return previous.version;
  return previous.fallback?.version;
}

export function chooseFallback(request: FallbackRequest, previous: ChannelPointer | undefined, version: string, percent: number | undefined): FallbackChoice {
  const partial = percent !== undefined && percent < 100;
  if (!partial) {
    if (typeof request === 'string') throw new TideError('usage', '--fallback needs --rollout below 100: with every host in the rollout no host takes a fallback');
    return { version: undefined, note: '' };
  }
  if (request === null) return { version: undefined, note: 'no fallback (--no-fallback): hosts outside the rollout with no version install nothing until it reaches them' };
  if (typeof request === 'string') return { version: checkVersion(request), note: `fallback ${request} (--fallback)` };
  const found = previousFullRelease(previous, version);
  if (found === undefined) {
    return { version: undefined, note: 'no fallback: the channel has no earlier fully rolled-out release, so hosts outside the rollout with no version install nothing until it reaches them' };
  }
  return { version: found, note: `fallback ${found}, the channel's previous fully rolled-out release` };
}

/** What a host would refuse about the fallback itself, before anything is signed. */
export function refuseFallback(tree: string, fallback: string, version: string, revokedVersions: readonly string[]): void {
  const where = { file: inTree(tree, treePaths.manifest(fallback)) };
  if (!semver.lt(fallback, version)) {
    throw new TideError('downgrade', `fallback ${fallback} is not older than the release ${version}: hosts outside the rollout would get a newer release than those inside it; name an older one with --fallback V, or --no-fallback`, where);
  }
  // SPEC formats.md#revocations: a host never installs a revoked version, a fallback included.
  if (revokedVersions.includes(fallback)) {
    throw new TideError('revoked', `fallback ${fallback} is revoked; hosts would never install it: name another with --fallback V, or --no-fallback`, { file: inTree(tree, treePaths.revocations) });
  }
}
