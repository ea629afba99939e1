// Wire the real side effects once: mirrors, processes, probes, clock, SIGTERM.
import type { Config } from '../config/load-config.js';
import type { Logger } from '../log/logger.js';
import { createMirrorClient } from '../mirror/mirror-client.js';
import { createProcessRunner, type ProcessRunner } from '../system/process-runner.js';
import { createProber } from '../health/probes.js';
import { readMachineId } from '../plan/rollout.js';
import { layoutFor, type Layout } from '../store/layout.js';
import { limits } from '../limits.js';
import { createPodman } from '../system/podman.js';
import { createImageStage } from '../containers/image-artifacts.js';
import { createContainerSwap } from '../containers/container-swap.js';
import { createContainerProbe } from '../containers/container-probe.js';
import { readPendingMarker } from './pending-marker.js';
import { systemIsStopping } from '../system/shutdown.js';
import { abortableSleep } from '../health/settle-health.js';
import { crashPointFromEnv, type MachineContext } from './context.js';

export function createMachineContext(config: Config, logger: Logger, extra: Partial<MachineContext> = {}): MachineContext {
  const runner = createProcessRunner();
  const layout = layoutFor(config.state_dir);
  return {
    config,
    layout,
    logger,
    client: createMirrorClient(),
    runner,
    // A container probe's podman calls end with the probe attempt.
    prober: createProber({ runner, containerProbe: createContainerProbe(createPodman({ argv: config.podman.argv, runner, timeoutMs: limits.probeAttemptTimeoutMs })) }),
    ...wirePodman(config, layout, logger, runner),
    now: () => new Date(),
    monotonic: () => performance.now(),
    sleep: abortableSleep,
    machineId: readMachineId(config.machine_id),
    interrupt: new AbortController(),
    crashPoint: crashPointFromEnv(),
    ...extra,
  };
}

/**
 * SPEC config.md#podman, config.md#container: image artifacts are loaded whenever a release carries
 * them; containers swap when the config names some. podman runs only when there is
 * something to do, so a host whose releases carry no images never needs it.
 */
function wirePodman(config: Config, layout: Layout, logger: Logger, runner: ProcessRunner): Pick<MachineContext, 'images' | 'containers'> {
  const podman = createPodman({ argv: config.podman.argv, runner });
  const images = createImageStage({ podman, layout, logger });
  // Without [[container]] this only prunes the images of versions no longer kept.
  const containers = createContainerSwap({
    podman, layout, logger, app: config.app, containers: config.container, keep: config.keep,
    rollingBack: () => isRollingBack(layout),
  });
  return { images, containers };
}

function isRollingBack(layout: Layout): boolean {
  try {
    return readPendingMarker(layout)?.phase === 'rolling-back';
  } catch {
    return false;
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
