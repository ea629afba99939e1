// SPEC design.md#probation: the committed version, still watched. Its end is a wall-clock
// time in the marker, so a resume after a reboot or kill -9 gets the time that is left.
import { watchProbation, type ProbationVerdict } from '../health/probation-watch.js';
import { watchRestarts } from '../health/restart-watch.js';
import { describeProbe } from '../health/probes.js';
import { createPodman } from '../system/podman.js';
import { formatDuration } from '../config/units.js';
import { limits } from '../limits.js';
import type { PendingMarker } from './pending-marker.js';
import type { MachineContext } from './context.js';

/**
 * When probation of the version just committed ends; null for none: `[health] probation`
 * is 0, the config has no probes (nothing could be watched), it is `tide rollback` (back
 * to a version that ran before), or a first install (there is nothing to roll back to).
 */
export function probationEnd(ctx: MachineContext, marker: PendingMarker): Date | null {
  const { probation, probe } = ctx.config.health;
  if (probation <= 0 || marker.kind === 'rollback' || marker.from === null) return null;
  if (probe.length === 0) {
    ctx.logger.log('warn', { event: 'probation', message: `no probation for ${marker.to}: the config says [health] probes = "none"`, to: marker.to });
    return null;
  }
  return new Date(ctx.now().getTime() + probation);
}

export async function watchCommitted(ctx: MachineContext, marker: PendingMarker): Promise<ProbationVerdict> {
  const { health, service, container, podman } = ctx.config;
  const until = Date.parse(marker.probationUntil ?? ctx.now().toISOString());
  const remaining = Math.max(0, until - ctx.now().getTime());
  // A resumed probation (after a reboot, say) gives the app its start time before failures count.
  const resumed = marker.attempt > 1;
  const grace = resumed ? (health.start ?? health.timeout) : 0;
  ctx.logger.log('info', { event: 'probation', message: `watching ${marker.to} for ${formatDuration(remaining)} more (until ${new Date(until).toISOString()}, every ${formatDuration(health.interval)}; a failure lasting ${formatDuration(health.stable)} rolls back to ${marker.from ?? '(nothing)'})`, from: marker.from, to: marker.to, phase: 'probation' });
  const containers = createPodman({ argv: podman.argv, runner: ctx.runner, timeoutMs: limits.probeAttemptTimeoutMs });
  const restarts = await watchRestarts({
    unit: service.unit,
    runner: ctx.runner,
    containers: container.map((c) => c.name),
    containerRun: async (name) => {
      const state = await containers.inspectContainer(name);
      return state && { id: state.id, startedAt: state.startedAt, restartCount: state.restartCount };
    },
  });
  const verdict = await watchProbation(health.probe, { remaining, interval: health.interval, stable: health.stable, grace }, {
    attempt: ctx.prober,
    clock: ctx.monotonic,
    sleep: ctx.sleep,
    signal: ctx.interrupt.signal,
    restarted: () => restarts.restarted(),
    onAttempt: (probe, result) => {
      ctx.logger.log(result.ok ? 'debug' : 'warn', { event: 'probe', message: `probation: ${describeProbe(probe)}: ${result.ok ? 'ok' : result.detail}`, to: marker.to, phase: 'probation' });
      ctx.crashPoint(`probation-${marker.to}`);
    },
  });
  ctx.logger.log(verdict.healthy ? 'info' : 'warn', { event: 'probation', message: `${marker.to}: ${verdict.reason}`, to: marker.to, phase: 'probation', result: verdict.healthy ? 'healthy' : 'unhealthy' });
  return verdict;
}
