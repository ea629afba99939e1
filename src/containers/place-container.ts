// One container put where a mode wants it: adopted, restored from aside, or
// recreated (its image loaded again from the verified kept artifact when gone).
// Shared by the swap (container-swap.ts) and recover, boot and the reconciler
// (reconcile-stages.ts).
import { TideError } from '../errors.js';
import type { ContainerSpec, ProbeSpec } from '../config/schema.js';
import type { ContainerState } from '../system/podman.js';
import type { ReleaseManifest } from '../documents/schemas.js';
import { describeProbe, type ProbeResult } from '../health/probes.js';
import { asideNameOf, choosePlacement, runArgsFor, wantedRef, type Mode } from './container-plan.js';
import { readKeptManifest, reloadKeptImage, type ImageStageDeps } from './image-artifacts.js';
import { startOrder, type Stage } from './stage-plan.js';
import type { StageGate } from './stage-gate.js';
import { asStateLoss } from './podman-state.js';
import { probeKey, recordProbeResults, updateContainerRecord } from './container-record.js';

export interface ContainerSwapDeps extends ImageStageDeps {
  app: string;
  stages: readonly Stage[];
  /** SPEC config.md#top-level-keys: `keep`, old versions (and their images) kept beyond current and previous. */
  keep: number;
  /** The version a rollback in progress leaves; null when no rollback is under way. */
  leaving: () => string | null;
  gate: StageGate;
  /** SPEC config.md#podman: heal_state, clear podman's broken state and recreate (recover, boot, reconciler). */
  healState: boolean;
  /** SPEC config.md#podman: argv, recorded for `tide status`. */
  podmanArgv: readonly string[];
}

/** A version lacks a container when its kept manifest has no image for it and the config names no tag. */
export function lacks(manifest: ReleaseManifest | null, spec: ContainerSpec): boolean {
  return manifest !== null && wantedRef(manifest, spec, true) === null;
}

/** SPEC host-layout.md#containersjson: written under the lock; a failure is logged, never fatal. */
export function recordProbes(deps: ContainerSwapDeps, results: ReadonlyMap<ProbeSpec, ProbeResult>): void {
  // Only hosts with containers have the file: `tide status` lists containers from it.
  if (startOrder(deps.stages).length === 0) return;
  const byKey = new Map([...results].map(([probe, result]) => [probeKey(probe, describeProbe(probe)), result]));
  try {
    recordProbeResults(deps.layout, byKey, new Date());
  } catch (err) {
    deps.logger.log('warn', { event: 'status', message: `could not record the probe results: ${(err as Error).message}` });
  }
}

/** SPEC host-layout.md#containersjson: what `tide status` lists, after every placement of `version`. */
export function recordContainers(deps: ContainerSwapDeps, version: string): void {
  if (startOrder(deps.stages).length === 0) return;
  const manifest = readKeptManifest(deps.layout, version);
  try {
    updateContainerRecord(deps.layout, (record) => {
      record.podmanArgv = [...deps.podmanArgv];
      record.containers = deps.stages.flatMap((stage) => stage.containers
        .filter((spec) => !lacks(manifest, spec))
        .map((spec) => ({ name: spec.name, stage: stage.name, image: wantedRef(manifest, spec, true) ?? spec.image })));
      record.stageProbes = Object.fromEntries(deps.stages.map((stage) => [stage.name, stage.probes.map((p) => probeKey(p, describeProbe(p)))]));
    });
  } catch (err) {
    deps.logger.log('warn', { event: 'status', message: `could not record the containers: ${(err as Error).message}` });
  }
}

/** One container of a stage, as `mode` wants it. */
export async function placeContainer(deps: ContainerSwapDeps, spec: ContainerSpec, version: string, ref: string | null, mode: Mode): Promise<'adopted' | 'recreated' | 'restored' | 'left'> {
  const { podman, logger } = deps;
  const current = await podman.inspectContainer(spec.name);
  const aside = await podman.inspectContainer(asideNameOf(spec.name));
  let did: 'adopted' | 'recreated' | 'restored' | 'left' = 'left';
  switch (choosePlacement(current, aside, ref, mode)) {
    case 'adopt':
      logger.log('debug', { event: 'containers', message: `${spec.name} already runs ${current!.imageRef}`, to: version });
      did = 'adopted';
      break;
    case 'leave':
      break;
    case 'restore-aside':
      await restoreAside(deps, spec, version, ref, current);
      did = 'restored';
      break;
    case 'unknown-image':
      throw new TideError('operator-needed', `no image is known for it: ${spec.image} has no tag and ${version} has no image artifact for it`);
    case 'recreate':
      if (current) await moveOutOfTheWay(deps, spec, current, ref!, mode, aside !== null);
      await recreate(deps, spec, version, ref!);
      did = 'recreated';
      break;
  }
  // Outside a transaction, or at the end of its rollback, nothing waits aside.
  if (mode !== 'forward') await podman.remove(asideNameOf(spec.name));
  return did;
}

/** Rollback: the container kept aside takes its name back and starts again. */
async function restoreAside(deps: ContainerSwapDeps, spec: ContainerSpec, version: string, ref: string | null, current: ContainerState | null): Promise<void> {
  const { podman, logger } = deps;
  if (current) await podman.remove(spec.name);
  await podman.rename(asideNameOf(spec.name), spec.name);
  try {
    await podman.start(spec.name);
    logger.log('info', { event: 'containers', message: `${spec.name}: restarted the container kept aside${ref ? ` (${ref})` : ''}`, to: version });
  } catch (err) {
    if (ref === null) throw err;
    logger.log('warn', { event: 'containers', message: `${spec.name}: the container kept aside did not start (${(err as Error).message}); recreating it`, to: version });
    await podman.remove(spec.name);
    await recreate(deps, spec, version, ref);
  }
}

/** Forward: the old container is stopped and kept aside. Otherwise it goes. */
export async function moveOutOfTheWay(deps: ContainerSwapDeps, spec: ContainerSpec, current: ContainerState, ref: string, mode: Mode, asideTaken: boolean): Promise<void> {
  const { podman, logger } = deps;
  if (mode !== 'forward' || current.imageRef === ref) {
    await podman.remove(spec.name);
    return;
  }
  // A container still aside from an earlier, unfinished swap is older than this one.
  if (asideTaken) await podman.remove(asideNameOf(spec.name));
  await podman.stop(spec.name);
  await podman.rename(spec.name, asideNameOf(spec.name));
  logger.log('info', { event: 'containers', message: `${spec.name}: stopped ${current.imageRef}, kept aside as ${asideNameOf(spec.name)} until commit` });
}

async function recreate(deps: ContainerSwapDeps, spec: ContainerSpec, version: string, ref: string): Promise<void> {
  if ((await deps.podman.imageId(ref)) === null) await reloadKeptImage(deps, version, ref);
  try {
    await deps.podman.run(runArgsFor(spec, ref, deps.app, version));
  } catch (err) {
    const lost = asStateLoss(err);
    // `podman run` may fail after creating it (a port taken, a bad mount): no `Created` container stays behind.
    // Not when podman's state is broken: that name belongs to a container only its storage knows.
    if (lost === err) await deps.podman.remove(spec.name).catch(() => undefined);
    throw lost;
  }
  deps.logger.log('info', { event: 'containers', message: `${spec.name}: started ${ref}`, to: version });
}
