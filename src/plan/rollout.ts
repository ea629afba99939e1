// SPEC formats.md#rollout: a host is in the rollout when
// int(sha256(machine_id + ":" + app + ":" + version)[0:8], 16) % 100 < percent.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import semver from 'semver';
import type { ChannelPointer } from '../documents/schemas.js';

export function rolloutBucket(machineId: string, app: string, version: string): number {
  const hex = createHash('sha256').update(`${machineId}:${app}:${version}`).digest('hex');
  return parseInt(hex.slice(0, 8), 16) % 100;
}

export function inRollout(machineId: string, app: string, version: string, percent: number | undefined): boolean {
  return rolloutBucket(machineId, app, version) < (percent ?? 100);
}

/** SPEC config.md#top-level-keys: machine_id is /etc/machine-id unless the config sets it. */
export function readMachineId(configured: string | undefined, path = '/etc/machine-id'): string {
  if (configured) return configured;
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

/** What a host knows when it picks between a pointer's release and its fallback. */
export interface RolloutHost {
  machineId: string;
  app: string;
  /** The version `current` points at, or null before the first install. */
  current: string | null;
  /** SPEC commands.md#tide-update: --force ignores the bucket, so the release itself is taken. */
  force: boolean;
}

/**
 * SPEC formats.md#rollout-fallback: a host outside `rollout.percent` installs the pointer's
 * fallback when it has no version yet or runs an older one, so a host provisioned during a
 * rollout is never left empty. A host whose current version is revoked takes it too (a
 * recall). Every other host stays with the pointer's release, which it then skips as "not in
 * the rollout yet". Pure.
 */
export function takesFallback(pointer: ChannelPointer, host: RolloutHost, revokedVersions: readonly string[]): boolean {
  const fallback = pointer.fallback;
  if (!fallback || host.force) return false;
  if (inRollout(host.machineId, host.app, pointer.version, pointer.rollout?.percent)) return false;
  if (host.current === null) return true;
  if (host.current === fallback.version) return false;
  if (revokedVersions.includes(host.current)) return true;
  return semver.valid(host.current) !== null && semver.lt(host.current, fallback.version);
}
