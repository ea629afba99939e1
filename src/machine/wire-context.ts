// Wire the real side effects once: mirrors, processes, probes, clock, SIGTERM.
import type { Config } from '../config/load-config.js';
import type { Logger } from '../log/logger.js';
import { createMirrorClient } from '../mirror/create-mirror-client.js';
import { createProcessRunner, type ProcessRunner } from '../system/process-runner.js';
import { createProber } from '../health/probes.js';
import { readMachineId } from '../plan/rollout.js';
import { layoutFor, type Layout } from '../store/layout.js';
import { limits } from '../limits.js';
import { createPodman, transientUnitWarning } from '../system/podman.js';
import { createImageStage } from '../containers/image-artifacts.js';
import { createContainerSwap } from '../containers/container-swap.js';
import { createContainerProbe } from '../containers/container-probe.js';
import { planStages } from '../containers/stage-plan.js';
import { createStageGate } from '../containers/stage-gate.js';
import type { ProbeAttempt } from '../health/probes.js';
import { readPendingMarker } from './pending-marker.js';
import { systemIsStopping } from '../system/shutdown.js';
import { abortableSleep } from '../health/settle-health.js';
import { crashPointFromEnv, type MachineContext } from './context.js';

export function createMachineContext(config: Config, logger: Logger, extra: Partial<MachineContext> = {}): MachineContext {
  const runner = createProcessRunner();
  const layout = layoutFor(config.state_dir);
  // A container probe's podman calls end with the probe attempt.
  const prober = extra.prober ?? createProber({ runner, containerProbe: createContainerProbe(createPodman({ argv: config.podman.argv, runner, timeoutMs: limits.probeAttemptTimeoutMs })) });
  const interrupt = extra.interrupt ?? new AbortController();
  return {
    config,
    layout,
    logger,
    client: createMirrorClient(),
    runner,
    prober,
    ...wirePodman(config, layout, logger, runner, prober, interrupt.signal),
    now: () => new Date(),
    monotonic: () => performance.now(),
    sleep: abortableSleep,
    machineId: readMachineId(config.machine_id),
    interrupt,
    crashPoint: crashPointFromEnv(),
    ...extra,
  };
}

/**
 * SPEC config.md#podman, config.md#container: image artifacts are loaded whenever a release carries
 * them; containers swap when the config names some. podman runs only when there is
 * something to do, so a host whose releases carry no images never needs it.
 */
function wirePodman(config: Config, layout: Layout, logger: Logger, runner: ProcessRunner, prober: ProbeAttempt, signal: AbortSignal): Pick<MachineContext, 'images' | 'containers'> {
  const podman = createPodman({ argv: config.podman.argv, runner });
  const killsContainers = config.container.length > 0 ? transientUnitWarning(config.podman.argv) : null;
  if (killsContainers) logger.log('warn', { event: 'containers', message: killsContainers });
  const images = createImageStage({ podman, layout, logger });
  // Without [[container]] this only prunes the images of versions no longer kept.
  const containers = createContainerSwap({
    podman, layout, logger, app: config.app, stages: planStages(config), keep: config.keep,
    leaving: () => rollbackLeaves(layout),
    gate: createStageGate({ prober, intervalMs: config.health.interval, logger, signal, record: (results) => containers.recordProbes(results) }),
    healState: config.podman.heal_state,
    podmanArgv: config.podman.argv,
  });
  return { images, containers };
}

/** The version an automatic rollback in progress leaves (the marker's `to`); null otherwise. */
function rollbackLeaves(layout: Layout): string | null {
  try {
    const marker = readPendingMarker(layout);
    return marker?.phase === 'rolling-back' ? marker.to : null;
  } catch {
    return null;
  }
}

/**
 * SIGTERM/SIGINT: finish or undo the step in progress, then exit cleanly. A SIGTERM while
 * the system shuts down is no request to undo: tide stops where it is and leaves the
 * marker for `tide verify` at the next boot (src/system/shutdown.ts says why).
 */
export function abortOnSignals(ctx: MachineContext): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    void (signal === 'SIGTERM' ? systemIsStopping(ctx.runner).catch(() => false) : Promise.resolve(false)).then((stopping) => {
      if (stopping) return leaveForBoot(ctx, onSignal);
      ctx.logger.log('warn', { event: 'signal', message: `${signal} received: finishing or undoing the step in progress` });
      ctx.interrupt.abort();
    });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
}

/**
 * Stop now, as a power cut would but cleanly: every state change is already atomic and the
 * marker names the phase, so `tide verify` at boot resumes it. Dying of the SIGTERM itself
 * (default action) lets systemd see an ordinary stop, and the lock's exit hook still runs.
 */
function leaveForBoot(ctx: MachineContext, listener: (signal: NodeJS.Signals) => void): void {
  let phase: string | undefined;
  try {
    phase = readPendingMarker(ctx.layout)?.phase;
  } catch {
    phase = 'unknown';
  }
  const left = phase ? `the pending update (phase ${phase}) is left for tide verify at the next boot` : 'nothing is pending';
  ctx.logger.log('warn', { event: 'shutdown', message: `SIGTERM received while the system is shutting down: stopping here; ${left}`, phase });
  process.off('SIGTERM', listener);
  process.kill(process.pid, 'SIGTERM');
}
