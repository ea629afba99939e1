// Plan, then apply: decide whether the channel's release is installed here,
// before anything touches the live system. Pure.
import semver from 'semver';
import { TideError, type ErrorPlace } from '../errors.js';

export interface UpdateFacts {
  /** The version the channel (or --version) names. */
  target: string;
  /** The version `current` points at, or null on a first install. */
  current: string | null;
  revokedVersions: readonly string[];
  /** Versions that failed their health check here. */
  badVersions: readonly string[];
  inRollout: boolean;
  /** SPEC formats.md#rollout-fallback: `target` is the fallback of this version's rollout, which this host is outside. */
  fallbackFor?: string;
  /** SPEC commands.md#tide-update: --force ignores the rollout bucket and the bad-version list, never a signature. */
  force: boolean;
}

export type UpdateDecision =
  | { action: 'install'; version: string; reason: string }
  | { action: 'none'; version: string; reason: string };

export function decideUpdate(facts: UpdateFacts, where: ErrorPlace = {}): UpdateDecision {
  const { target, current } = facts;
  const revoked = new Set(facts.revokedVersions);
  // SPEC formats.md#revocations: a host never installs a revoked version.
  if (revoked.has(target)) {
    throw new TideError('revoked', `version ${target} is revoked`, where);
  }
  if (current === target) {
    return { action: 'none', version: target, reason: `${target} is already current` };
  }
  // SPEC formats.md#revocations: a recall is the one allowed downgrade.
  if (current !== null && semver.valid(current) && semver.lt(target, current) && !revoked.has(current)) {
    throw new TideError('downgrade', `channel names ${target}, older than the current ${current}`, where);
  }
  if (facts.badVersions.includes(target) && !facts.force) {
    return { action: 'none', version: target, reason: `${target} failed its health check here before; skipped (use --force to retry)` };
  }
  if (!facts.inRollout && !facts.force && facts.fallbackFor === undefined) {
    return { action: 'none', version: target, reason: `this host is not in the rollout of ${target} yet` };
  }
  const why = current !== null && revoked.has(current) ? `current ${current} is revoked` : current === null ? 'first install' : `newer than ${current}`;
  const fallback = facts.fallbackFor === undefined ? '' : `, the fallback while ${facts.fallbackFor} rolls out to other hosts`;
  return { action: 'install', version: target, reason: why + fallback };
}
