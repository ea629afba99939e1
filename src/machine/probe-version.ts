// Probe the version that was just restarted, as the transaction sees it: the
// configured probes, plus "dead at start" detection so a version that never
// answers is rolled back long before the health timeout.
import { settleHealth, type HealthVerdict } from '../health/settle-health.js';
import { describeProbe, type ProbeAttempt } from '../health/probes.js';
import { isFailed } from '../system/systemd.js';
import { formatDuration } from '../config/units.js';
import type { ProbeSpec } from '../config/schema.js';
import type { MachineContext } from './context.js';

/** Probes that can see a process die: nothing listening where it used to. */
const watchesAPort = (p: ProbeSpec) => p.type === 'http' || p.type === 'tcp';

/**
 * Wraps the prober to remember since when each port probe has been refused without
 * a break; when one has been refused for `goneAfterMs` since the restart, the version
 * is taken as dead at start.
 */
function refusalWatch(prober: ProbeAttempt, probes: ProbeSpec[], goneAfterMs: number, clock: () => number) {
  const refusedSince = new Map<ProbeSpec, number | null>(probes.filter(watchesAPort).map((p) => [p, clock()]));
  const attempt: ProbeAttempt = async (probe, budget) => {
    const result = await prober(probe, budget);
    if (refusedSince.has(probe)) {
      const since = refusedSince.get(probe);
      refusedSince.set(probe, result.refused ? since ?? clock() : null);
    }
    return result;
  };
  // Every probe must pass, so one port that has refused since the restart is enough.
  const deadAtStart = (): string | false => {
    const now = clock();
    for (const [probe, since] of refusedSince) {
      if (since !== null && now - since >= goneAfterMs) {
        return `${describeProbe(probe)}: nothing answered for ${formatDuration(goneAfterMs)} after the restart (the version is not running)`;
      }
    }
    return false;
  };
  return { attempt, deadAtStart };
}

/** `abortable`: SIGTERM stops the probe (on the way forward); a rollback's probe runs to the end. */
export async function probeVersion(ctx: MachineContext, version: string, abortable = true): Promise<HealthVerdict> {
  const { health, service } = ctx.config;
  if (health.probe.length === 0) {
    // SPEC config.md#health: only a config that says probes = "none" gets here (the loader refuses any other).
    const reason = 'not probed: the config says [health] probes = "none"';
    ctx.logger.log('warn', { event: 'probe', message: `${version} is taken as healthy without probing: [health] probes = "none"`, to: version, result: 'healthy' });
    return { healthy: true, reason, elapsedMs: 0 };
  }
  const goneAfterMs = health.gone_after ?? Math.max(3 * health.interval, 3_000);
  const watch = refusalWatch(ctx.prober, health.probe, goneAfterMs, ctx.monotonic);
  ctx.logger.log('info', { event: 'probe', message: `probing ${version} (${health.probe.length} probe(s), stable ${formatDuration(health.stable)}, timeout ${formatDuration(health.timeout)})`, to: version });
  const verdict = await settleHealth(health.probe, health, {
    attempt: watch.attempt,
    clock: ctx.monotonic,
    sleep: ctx.sleep,
    signal: abortable ? ctx.interrupt.signal : undefined,
    isServiceGone: async () => {
      if (service.unit && (await isFailed(ctx.runner, service.unit))) return `unit ${service.unit} failed`;
      return watch.deadAtStart();
    },
    onAttempt: (probe, result) => {
      ctx.logger.log('debug', { event: 'probe', message: `${describeProbe(probe)}: ${result.ok ? 'ok' : result.detail}`, to: version });
      ctx.crashPoint(`probing-${version}`);
    },
  });
  ctx.logger.log(verdict.healthy ? 'info' : 'warn', { event: 'probe', message: `${version} ${verdict.healthy ? 'is healthy' : 'is unhealthy'}: ${verdict.reason}`, to: version, result: verdict.healthy ? 'healthy' : 'unhealthy', durationMs: Math.round(verdict.elapsedMs) });
  return verdict;
}
