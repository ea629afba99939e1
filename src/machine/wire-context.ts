// Wire the real side effects once: mirrors, processes, probes, clock, SIGTERM.
import type { Config } from '../config/load-config.js';
import type { Logger } from '../log/logger.js';
import { createMirrorClient } from '../mirror/mirror-client.js';
import { createProcessRunner } from '../system/process-runner.js';
import { createProber } from '../health/probes.js';
import { readMachineId } from '../plan/rollout.js';
import { layoutFor } from '../store/layout.js';
import { crashPointFromEnv, type MachineContext } from './context.js';

export function createMachineContext(config: Config, logger: Logger, extra: Partial<MachineContext> = {}): MachineContext {
  const runner = createProcessRunner();
  return {
    config,
    layout: layoutFor(config.state_dir),
    logger,
    client: createMirrorClient(),
    runner,
    prober: createProber({ runner }),
    now: () => new Date(),
    machineId: readMachineId(config.machine_id),
    interrupt: new AbortController(),
    crashPoint: crashPointFromEnv(),
    ...extra,
  };
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
