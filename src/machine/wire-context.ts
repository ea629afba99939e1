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

/** SIGTERM/SIGINT: finish or undo the step in progress, then exit cleanly. */
export function abortOnSignals(ctx: MachineContext): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    ctx.logger.log('warn', { event: 'signal', message: `${signal} received: finishing or undoing the step in progress` });
    ctx.interrupt.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
}
