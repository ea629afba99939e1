// SPEC formats.md#rollout: a host is in the rollout when
// int(sha256(machine_id + ":" + app + ":" + version)[0:8], 16) % 100 < percent.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

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
