// SPEC design.md#probation: after the commit, the version is still watched. Every probe
// is tried each `interval` until probation's end; a probe that fails for `stable` without
// a break, or a restart of the app (its unit or a container), fails probation. The
// judgement is pure (time is handed in); the loop takes its clock, sleep and prober.
import type { ProbeSpec } from '../config/schema.js';
import { formatDuration } from '../config/units.js';
import { attemptTimeoutFor, describeProbe, type ProbeAttempt, type ProbeResult } from './probes.js';

export interface ProbationTiming {
  /** Milliseconds of probation left (all of it after the commit, the rest after a resume). */
  remaining: number;
  /** SPEC config.md#health: interval, time between rounds (ms). */
  interval: number;
  /** SPEC config.md#health: stable, a failure lasting this long fails probation (ms). */
  stable: number;
  /**
   * Failures before a probe's first pass count only from this moment (ms). 0 right after the
   * commit; `start` after a resume at boot, when the app is still starting.
   */
  grace: number;
}

/** What probation saw of one probe: kept per probe, for the reason, the history and the metrics. */
export interface ProbeRecord {
  probe: ProbeSpec;
  /** Failed attempts during this watch. */
  failed: number;
  /** The last failed attempt's one line ("answered 500, expected 200"), null if none failed. */
  lastFailure: string | null;
  passedOnce: boolean;
  /** Since when it fails without a break (ms since the watch began); null while passing. */
  failingSince: number | null;
}

export interface ProbationVerdict {
  healthy: boolean;
  reason: string;
  elapsedMs: number;
  /** The signal stopped the watch before a verdict. */
  aborted?: boolean;
  probes: ProbeRecord[];
}

export interface ProbationDeps {
  attempt: ProbeAttempt;
  /** Monotonic milliseconds. */
  clock: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  signal?: AbortSignal;
  onAttempt?: (probe: ProbeSpec, result: ProbeResult) => void;
  /** A restart of the app since the watch began, as a reason; null when none. */
  restarted?: () => Promise<string | null>;
}

export function newRecord(probe: ProbeSpec): ProbeRecord {
  return { probe, failed: 0, lastFailure: null, passedOnce: false, failingSince: null };
}

export function recordProbationAttempt(record: ProbeRecord, result: ProbeResult, now: number, timing: ProbationTiming): void {
  if (result.ok) {
    record.passedOnce = true;
    record.failingSince = null;
    return;
  }
  record.failed += 1;
  record.lastFailure = result.detail;
  // Before its first pass, a probe's failures count from the end of the grace only.
  record.failingSince ??= record.passedOnce ? now : Math.max(now, timing.grace);
}

export const failedAttempts = (records: readonly ProbeRecord[]): number => records.reduce((n, r) => n + r.failed, 0);

/** Unhealthy, healthy, or null to keep watching. */
export function judgeProbation(records: ProbeRecord[], now: number, timing: ProbationTiming): { healthy: boolean; reason: string } | null {
  const failedFor = (r: ProbeRecord) => (r.failingSince === null ? -1 : now - r.failingSince);
  const broken = records.find((r) => failedFor(r) >= timing.stable);
  if (broken) {
    const slowStart = !broken.passedOnce && timing.grace > 0 ? ` (it had not passed once since tide resumed, ${formatDuration(timing.grace)} allowed for the start)` : '';
    return { healthy: false, reason: `${describeProbe(broken.probe)} ${broken.lastFailure} for ${formatDuration(failedFor(broken))} in a row during probation (stable ${formatDuration(timing.stable)})${slowStart}; ${failedAttempts(records)} failed probe attempt(s)` };
  }
  if (now >= timing.remaining && records.every((r) => r.failingSince === null)) {
    const failed = failedAttempts(records);
    return { healthy: true, reason: `probation passed (${failed === 0 ? 'no failed probe' : `${failed} failed probe attempt(s), none lasting ${formatDuration(timing.stable)}`})` };
  }
  return null;
}

export async function watchProbation(probes: ProbeSpec[], timing: ProbationTiming, deps: ProbationDeps): Promise<ProbationVerdict> {
  const began = deps.clock();
  const elapsed = () => deps.clock() - began;
  const records = probes.map(newRecord);
  const attemptTimeoutMs = attemptTimeoutFor(timing.interval);
  // Bounded: probation, plus the grace and one failure's `stable` past its end, in rounds.
  const maxRounds = Math.ceil((timing.remaining + timing.grace + timing.stable) / Math.max(timing.interval, 1)) + 3;
  for (let round = 0; round < maxRounds; round++) {
    if (deps.signal?.aborted) return { healthy: false, reason: 'probation was stopped before its end', elapsedMs: elapsed(), aborted: true, probes: records };
    const roundBegan = elapsed();
    const results = await Promise.all(probes.map((p) => deps.attempt(p, { timeoutMs: attemptTimeoutMs }).catch((err: unknown) => ({ ok: false, detail: `could not be checked: ${(err as Error).message}` }))));
    const now = elapsed();
    results.forEach((result, i) => {
      recordProbationAttempt(records[i]!, result, now, timing);
      deps.onAttempt?.(probes[i]!, result);
    });
    const restart = await deps.restarted?.();
    if (restart) return { healthy: false, reason: `${restart} during probation; ${failedAttempts(records)} failed probe attempt(s)`, elapsedMs: now, probes: records };
    const verdict = judgeProbation(records, now, timing);
    if (verdict) return { ...verdict, elapsedMs: now, probes: records };
    // The next round at the interval, but exactly at probation's end when that comes first.
    const wakeAt = roundBegan + timing.interval;
    const at = now < timing.remaining ? Math.min(wakeAt, timing.remaining) : wakeAt;
    await deps.sleep(Math.max(0, at - elapsed()), deps.signal);
  }
  const now = elapsed();
  const verdict = judgeProbation(records, Math.max(now, timing.remaining), { ...timing, stable: 0 });
  return { ...(verdict ?? { healthy: false, reason: 'probation did not settle' }), elapsedMs: now, probes: records };
}

/** The newest failure of a probation watch as "<probe> <what it saw>"; null when none failed. */
export function lastProbationFailure(records: readonly ProbeRecord[]): string | null {
  const last = records.filter((r) => r.lastFailure !== null).at(-1);
  return last ? `${describeProbe(last.probe)} ${last.lastFailure}` : null;
}
