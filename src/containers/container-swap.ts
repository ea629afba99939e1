// SPEC containers.md#swap: containers swap with the release, stage by stage. At the
// swap, every container whose image repository has an artifact in the release is
// stopped in reverse stage order and kept aside (NAME.tide-prev), so a rollback only
// renames it back; then the release's containers start stage by stage, each stage's
// probes passing before the next starts. Commit removes what was kept aside; recover
// and boot recreate what is missing or stopped, and adopt what already runs as configured.
import { TideError, isTideError } from '../errors.js';
import type { ProbeSpec } from '../config/schema.js';
import type { ContainerSwap, StageFailure } from '../machine/context.js';
import type { ReleaseManifest } from '../documents/schemas.js';
import { asideNameOf, choosePlacement, labelVersion, wantedRef, type Mode } from './container-plan.js';
import { readKeptManifest } from './image-artifacts.js';
import { pruneImages } from './prune-images.js';
import { startOrder, stopOrder, type Stage } from './stage-plan.js';
import { reconcileStages, type ReconcileOptions } from './reconcile-stages.js';
import { lacks, moveOutOfTheWay, placeContainer, recordContainers, recordProbes, type ContainerSwapDeps } from './place-container.js';

export type { ContainerSwapDeps } from './place-container.js';

const messageOf = (err: unknown): string => {
  const place = isTideError(err) && err.where.file ? ` (file ${err.where.file})` : '';
  return `${err instanceof Error ? err.message : String(err)}${place}`;
};

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

const modeOf = (deps: ContainerSwapDeps): Mode => (deps.leaving() !== null ? 'back' : 'forward');

/** SPEC containers.md#swap: a container probe of a container the version lacks does not apply to it. */
function probeAppliesTo(deps: ContainerSwapDeps, version: string, probe: ProbeSpec): boolean {
  if (probe.type !== 'container') return true;
  const spec = deps.stages.flatMap((s) => s.containers).find((c) => c.name === probe.name);
  return !spec || !lacks(readKeptManifest(deps.layout, version), spec);
}

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
