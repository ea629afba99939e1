// SPEC containers.md#recovering-tide-recover-and-tide-verify-at-boot and
// containers.md#the-reconciler: outside a transaction, put the current version's
// containers back stage by stage. Running containers that match their spec are
// adopted (same container, never restarted); missing, stopped or wrong-image ones
// are recreated. At recover and boot the first stage is retried with backoff until
// its probes pass; later stages are started even when one of them failed.
import pRetry, { AbortError } from 'p-retry';
import { isTideError, type TideError } from '../errors.js';
import { findStateLoss, healState, stateLossError } from './podman-state.js';
import { readVersionLink } from '../store/version-links.js';
import { wantedRef } from './container-plan.js';
import { readKeptManifest, reloadKeptImage } from './image-artifacts.js';
import { lacks, placeContainer, recordContainers, type ContainerSwapDeps } from './place-container.js';
import type { Stage } from './stage-plan.js';

export interface ReconcileOptions {
  /** Recover and boot: retry the first stage until its probes pass, for at most this long. */
  retryFirstForMs?: number;
  /** Recover and boot: wait for every stage's probes before the next; otherwise only after a stage recreated something. */
  gateEvery?: boolean;
}

export type ReconcileAction = 'adopted' | 'recreated' | 'restored' | 'left';

export interface ReconcileReport {
  /** The version reconciled; null when nothing is installed. */
  version: string | null;
  actions: { container: string; stage: string; action: ReconcileAction }[];
  /** One entry per failed stage, naming it and what failed. */
  failures: string[];
}

/** Refusals of a kept artifact (hash, size) do not get better by retrying. */
const refusalCodes = new Set(['hash', 'size', 'image-ref']);

/** A stage that failed; `final` when retrying cannot help. */
class StageFailed extends Error {
  constructor(message: string, readonly final = false, readonly stateLoss?: TideError) {
    super(message);
  }
}

/** SPEC containers.md#podman-state-loss: before anything is placed, podman must know tide's containers. */
async function checkPodmanState(deps: ContainerSwapDeps, version: string): Promise<void> {
  const specs = deps.stages.flatMap((s) => s.containers);
  const lost = await findStateLoss(deps.podman, specs.map((c) => c.name));
  if (lost.length === 0) return;
  const names = lost.map((c) => `${c.name} (${c.id.slice(0, 12)})`).join(', ');
  if (!deps.healState) throw stateLossError(`podman ps --all --external lists ${names} as in its storage only`);
  await healState(deps.podman, lost, deps.logger);
  // Recreated from verified artifacts: every image is checked against its kept artifact (and loaded if gone).
  const manifest = readKeptManifest(deps.layout, version);
  for (const spec of specs) {
    const ref = wantedRef(manifest, spec, false);
    if (ref !== null) await reloadKeptImage(deps, version, ref);
  }
}

export async function reconcileStages(deps: ContainerSwapDeps, options: ReconcileOptions): Promise<ReconcileReport> {
  const version = readVersionLink(deps.layout.current);
  const report: ReconcileReport = { version, actions: [], failures: [] };
  // A host with no [[container]] never needs podman (it may not even have it installed).
  if (version === null || deps.stages.every((s) => s.containers.length === 0)) return report;
  await checkPodmanState(deps, version);
  recordContainers(deps, version);
  for (const [index, stage] of deps.stages.entries()) {
    const last = index === deps.stages.length - 1;
    const retry = index === 0 && !last && stage.probes.length > 0 && (options.retryFirstForMs ?? 0) > 0;
    try {
      if (retry) await retryFirstStage(deps, stage, version, report, options.retryFirstForMs!);
      else await reconcileStage(deps, stage, version, report, { gate: !last, gateEvery: options.gateEvery === true });
    } catch (err) {
      // Not a stage's failure: every stage would fail the same way. One line, exit 6.
      if (err instanceof StageFailed && err.stateLoss) throw err.stateLoss;
      const failure = `stage "${stage.name}": ${(err as Error).message}`;
      report.failures.push(failure);
      deps.logger.log('error', { event: 'stage', message: `${version}: ${failure}`, to: version });
      // SPEC config.md#stage: later stages start even when an earlier one failed, except the first.
      if (index === 0 && !last) break;
    }
  }
  return report;
}

async function retryFirstStage(deps: ContainerSwapDeps, stage: Stage, version: string, report: ReconcileReport, forMs: number): Promise<void> {
  const deadline = performance.now() + forMs;
  await pRetry(async () => {
    const left = Math.max(0, deadline - performance.now());
    try {
      await reconcileStage(deps, stage, version, report, { gate: true, gateEvery: true, timeoutMs: Math.min(stage.timeoutMs, Math.max(left, 1)) });
    } catch (err) {
      throw err instanceof StageFailed && err.final ? new AbortError(err) : err;
    }
  }, {
    retries: 1_000, factor: 2, minTimeout: 500, maxTimeout: 8_000, maxRetryTime: forMs,
    onFailedAttempt: (err) => deps.logger.log('warn', { event: 'stage', message: `stage "${stage.name}" of ${version} failed (attempt ${err.attemptNumber}): ${err.message}; retrying`, to: version }),
  });
}

async function reconcileStage(deps: ContainerSwapDeps, stage: Stage, version: string, report: ReconcileReport, how: { gate: boolean; gateEvery: boolean; timeoutMs?: number }): Promise<void> {
  const manifest = readKeptManifest(deps.layout, version);
  const broken: string[] = [];
  let refused = false;
  let changed = false;
  for (const spec of stage.containers) {
    // SPEC containers.md#swap: a container this version has no image for is not part of it.
    if (lacks(manifest, spec)) continue;
    try {
      const action = await placeContainer(deps, spec, version, wantedRef(manifest, spec, true), 'reconcile');
      if (action !== 'adopted' && action !== 'left') changed = true;
      report.actions.push({ container: spec.name, stage: stage.name, action });
    } catch (err) {
      if (isTideError(err, 'podman-state')) throw new StageFailed(err.message, true, err);
      refused ||= isTideError(err) && refusalCodes.has(err.code);
      const place = isTideError(err) && err.where.file ? ` (file ${err.where.file})` : '';
      broken.push(`container ${spec.name}: ${(err as Error).message}${place}`);
    }
  }
  if (broken.length > 0) throw new StageFailed(broken.join('; '), refused);
  if (!how.gate || (!how.gateEvery && !changed)) return;
  const verdict = await deps.gate(stage, version, how.timeoutMs);
  if (!verdict.healthy) throw new StageFailed(verdict.reason);
}
