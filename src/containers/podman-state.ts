// SPEC containers.md#podman-state-loss: podman's database (libpod's bolt_state.db or
// db.sql) vanished while its storage remained. podman then lists nothing, and every
// `podman run --name X` fails because the storage still holds X. tide says so in one
// line naming podman's error and what to run; only with `[podman] heal_state = true`
// it clears the leftovers, renumbers podman's locks and recreates the containers
// from the verified artifacts.
import { TideError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Podman } from '../system/podman.js';
import { asideNameOf } from './container-plan.js';

/** podman's words when its storage holds a name its database does not. */
const nameInUse = /the container name "([^"]+)" is already in use by ([0-9a-f]{12,64})/;

const whatToRun = 'set [podman] heal_state = true and run `tide recover` (or by hand: `podman rm --force NAME` for each, `podman system renumber`, then `tide recover`; docs/runbook.md)';

export function stateLossError(said: string): TideError {
  return new TideError('podman-state', `podman's state is broken: its storage holds containers its database no longer knows (podman said: ${said}); ${whatToRun}`);
}

/** A failed `podman run`'s message, turned into the state-loss line when that is what it says. */
export function asStateLoss(err: unknown): unknown {
  const match = err instanceof Error ? nameInUse.exec(err.message) : null;
  return match ? stateLossError(`the container name "${match[1]}" is already in use by ${match[2]!.slice(0, 12)}`) : err;
}

/** Containers with tide's names that only podman's storage still holds. */
export async function findStateLoss(podman: Podman, names: readonly string[]): Promise<{ id: string; name: string }[]> {
  const ours = new Set(names.flatMap((n) => [n, asideNameOf(n)]));
  return (await podman.storageOnlyContainers()).filter((c) => ours.has(c.name));
}

/**
 * Only with heal_state: end what the runtime still runs of each lost container,
 * remove it from the storage, and `podman system renumber`. The caller then recreates
 * the containers, loading every image again only after it matched its kept artifact.
 */
export async function healState(podman: Podman, lost: { id: string; name: string }[], logger: Logger): Promise<void> {
  logger.log('warn', { event: 'podman-state', message: `podman's state is broken: its storage holds ${lost.map((c) => c.name).join(', ')} that its database no longer knows; healing it ([podman] heal_state = true)` });
  for (const container of lost) {
    await podman.deleteRuntimeContainer(container.id).catch(() => undefined);
    await podman.remove(container.id);
  }
  await podman.renumber();
  logger.log('warn', { event: 'podman-state', message: `cleared ${lost.length} lost container(s) and ran podman system renumber; recreating from the verified artifacts` });
}
