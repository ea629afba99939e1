// SPEC config.md#stage: a stage starts only when the stage before it passed its probes.
// The gate is the stage's probes passing once each (no stable window: the whole
// version's probes settle with `stable` afterwards), by the stage's timeout.
import { settleHealth, type HealthVerdict } from '../health/settle-health.js';
import { describeProbe, type ProbeAttempt, type ProbeResult } from '../health/probes.js';
import type { ProbeSpec } from '../config/schema.js';
import { formatDuration } from '../config/units.js';
import type { Logger } from '../log/logger.js';
import type { Stage } from './stage-plan.js';

export interface StageGateDeps {
  prober: ProbeAttempt;
  /** [health] interval: how often a stage's probes are attempted. */
  intervalMs: number;
  logger: Logger;
  signal?: AbortSignal;
  /** The last result of each of the stage's probes, for `tide status`. */
  record?: (results: ReadonlyMap<ProbeSpec, ProbeResult>) => void;
}

/** Whether `stage`'s probes passed within `timeoutMs` (default: the stage's timeout). */
export type StageGate = (stage: Stage, version: string, timeoutMs?: number) => Promise<HealthVerdict>;

export function createStageGate(deps: StageGateDeps): StageGate {
  return async (stage, version, timeoutMs = stage.timeoutMs) => {
    if (stage.probes.length === 0) return { healthy: true, reason: `stage "${stage.name}" has no probes`, elapsedMs: 0 };
    deps.logger.log('info', { event: 'stage', message: `stage "${stage.name}": waiting for ${stage.probes.map(describeProbe).join(', ')} (timeout ${formatDuration(timeoutMs)})`, to: version });
    const last = new Map<ProbeSpec, ProbeResult>();
    const verdict = await settleHealth(stage.probes, { timeout: timeoutMs, start: timeoutMs, interval: deps.intervalMs, stable: 0 }, {
      attempt: deps.prober,
      signal: deps.signal,
      onAttempt: (probe, result) => last.set(probe, result) && deps.logger.log('debug', { event: 'probe', message: `stage "${stage.name}": ${describeProbe(probe)}: ${result.ok ? 'ok' : result.detail}`, to: version }),
    });
    deps.record?.(last);
    // No stable window here: "passed continuously for 0ms" would read oddly.
    if (verdict.healthy) verdict.reason = stage.probes.length === 1 ? `${describeProbe(stage.probes[0]!)} passed` : `all ${stage.probes.length} probes passed`;
    deps.logger.log(verdict.healthy ? 'info' : 'warn', { event: 'stage', message: `stage "${stage.name}" ${verdict.healthy ? 'passed' : 'failed'}: ${verdict.reason}`, to: version, result: verdict.healthy ? 'healthy' : 'unhealthy' });
    return verdict;
  };
}
