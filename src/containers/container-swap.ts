// SPEC containers.md#swap: containers swap with the release, stage by stage. At the
// swap, every container whose image repository has an artifact in the release is
// stopped in reverse stage order and kept aside (NAME.tide-prev), so a rollback only
// renames it back; then the release's containers start stage by stage, each stage's
// probes passing before the next starts. Commit removes what was kept aside; recover
// and boot recreate what is missing or stopped, and adopt what already runs as configured.
import { TideError, isTideError } from '../errors.js';
import type { ContainerSpec, ProbeSpec } from '../config/schema.js';
import type { ContainerSwap, StageFailure } from '../machine/context.js';
import type { ContainerState } from '../system/podman.js';
import type { ReleaseManifest } from '../documents/schemas.js';
import { asideNameOf, choosePlacement, labelVersion, runArgsFor, wantedRef, type Mode } from './container-plan.js';
import { readKeptManifest, reloadKeptImage, type ImageStageDeps } from './image-artifacts.js';
import { pruneImages } from './prune-images.js';
import { startOrder, stopOrder, type Stage } from './stage-plan.js';
import type { StageGate } from './stage-gate.js';
import { reconcileStages, type ReconcileOptions } from './reconcile-stages.js';
import { asStateLoss } from './podman-state.js';
import { probeKey, recordProbeResults, updateContainerRecord } from './container-record.js';
import { describeProbe, type ProbeResult } from '../health/probes.js';

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

export function createContainerSwap(deps: ContainerSwapDeps): Required<ContainerSwap> {
  const containers = startOrder(deps.stages);
  return {
    switchTo: (version) => stopForSwap(deps, version),
    startStages: (version, restart) => startStages(deps, version, restart),
    async commit() {
      for (const spec of containers) await deps.podman.remove(asideNameOf(spec.name));
      await pruneImages(deps);
    },
    reconcile: (options?: ReconcileOptions) => reconcileStages(deps, options ?? {}),
    appliesTo: (version, probe) => probeAppliesTo(deps, version, probe),
    recordProbes: (results) => recordProbes(deps, results),
  };
}

/** SPEC host-layout.md#containersjson: written under the lock; a failure is logged, never fatal. */
function recordProbes(deps: ContainerSwapDeps, results: ReadonlyMap<ProbeSpec, ProbeResult>): void {
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

const modeOf = (deps: ContainerSwapDeps): Mode => (deps.leaving() !== null ? 'back' : 'forward');

/** A version lacks a container when its kept manifest has no image for it and the config names no tag. */
export function lacks(manifest: ReleaseManifest | null, spec: ContainerSpec): boolean {
  return manifest !== null && wantedRef(manifest, spec, true) === null;
}

/** SPEC containers.md#swap: a container probe of a container the version lacks does not apply to it. */
function probeAppliesTo(deps: ContainerSwapDeps, version: string, probe: ProbeSpec): boolean {
  if (probe.type !== 'container') return true;
  const spec = deps.stages.flatMap((s) => s.containers).find((c) => c.name === probe.name);
  return !spec || !lacks(readKeptManifest(deps.layout, version), spec);
}

const messageOf = (err: unknown): string => {
  const place = isTideError(err) && err.where.file ? ` (file ${err.where.file})` : '';
  return `${err instanceof Error ? err.message : String(err)}${place}`;
};

/**
 * Swapping: the containers that will be replaced go, the last stage first. Forward,
 * each is stopped and kept aside; at a rollback, the failed version's are removed,
 * and so is a container the version rolled back to does not have.
 */
async function stopForSwap(deps: ContainerSwapDeps, version: string): Promise<void> {
  const mode = modeOf(deps);
  const leaving = deps.leaving();
  const manifest = readKeptManifest(deps.layout, version);
  const failures: string[] = [];
  for (const spec of stopOrder(deps.stages)) {
    try {
      const current = await deps.podman.inspectContainer(spec.name);
      if (!current) continue;
      const aside = await deps.podman.inspectContainer(asideNameOf(spec.name));
      const ref = wantedRef(manifest, spec, false);
      const placement = choosePlacement(current, aside, ref, mode);
      if (placement === 'recreate') await moveOutOfTheWay(deps, spec, current, ref!, mode, aside !== null);
      else if (mode === 'back' && placement === 'restore-aside') await deps.podman.remove(spec.name);
      else if (mode === 'back' && placement === 'leave' && leaving !== null && current.labels[labelVersion] === leaving) {
        // SPEC containers.md#swap: the release added it; the version rolled back to has none.
        await deps.podman.remove(spec.name);
        deps.logger.log('info', { event: 'containers', message: `${spec.name}: removed; ${version} has no such container`, to: version });
      }
    } catch (err) {
      failures.push(`${spec.name}: ${messageOf(err)}`);
      deps.logger.log('error', { event: 'containers', message: `container ${spec.name} for ${version}: ${messageOf(err)}`, to: version });
    }
  }
  // SPEC design.md#rollback: the rollback runs to the end; the caller records this and decides between 5 and 6.
  if (failures.length > 0) throw new TideError('operator-needed', `containers could not be stopped for ${version}: ${failures.join('; ')}`);
}

/**
 * Start `version` stage by stage; `restart` runs in the service stage. Every stage but
 * the last waits for its probes (the last is the version's own probe). Forward, the
 * first failing stage ends it (the update rolls back at once); at a rollback every
 * stage is still started and every failure named.
 */
async function startStages(deps: ContainerSwapDeps, version: string, restart: () => Promise<StageFailure | null>): Promise<StageFailure | null> {
  const mode = modeOf(deps);
  const manifest = readKeptManifest(deps.layout, version);
  const failures: StageFailure[] = [];
  recordContainers(deps, version);
  for (const [index, stage] of deps.stages.entries()) {
    const failure = await startStage(deps, stage, version, manifest, mode, restart, index === deps.stages.length - 1);
    if (!failure) continue;
    if (mode === 'forward') return failure;
    failures.push(failure);
  }
  if (failures.length === 0) return null;
  return { reason: failures.map((f) => f.reason).join('; '), hostFault: failures.some((f) => f.hostFault) };
}

async function startStage(deps: ContainerSwapDeps, stage: Stage, version: string, manifest: ReleaseManifest | null, mode: Mode, restart: () => Promise<StageFailure | null>, last: boolean): Promise<StageFailure | null> {
  const named = deps.stages.length > 1 ? `stage "${stage.name}": ` : '';
  const broken: string[] = [];
  for (const spec of stage.containers) {
    try {
      await placeContainer(deps, spec, version, wantedRef(manifest, spec, false), mode);
    } catch (err) {
      broken.push(`container ${spec.name}: ${messageOf(err)}`);
      deps.logger.log('error', { event: 'containers', message: `${named}container ${spec.name} for ${version}: ${messageOf(err)}`, to: version });
    }
  }
  // A container podman could not start fails its stage: its probes would only wait out the timeout.
  if (broken.length > 0) return { reason: `${named}${broken.join('; ')}`, hostFault: false };
  if (stage.service) {
    const failed = await restart();
    if (failed) return failed;
  }
  if (last) return null;
  const verdict = await deps.gate(stage, version);
  return verdict.healthy ? null : { reason: `${named}${verdict.reason}`, hostFault: false };
}

/** One container of a stage, as `mode` wants it. Exported for the reconciler. */
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
async function moveOutOfTheWay(deps: ContainerSwapDeps, spec: ContainerSpec, current: ContainerState, ref: string, mode: Mode, asideTaken: boolean): Promise<void> {
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
