// SPEC config.md#health: after the restart, is the new version healthy? Every probe must pass
// continuously for `stable`, every probe must have passed once by `start`, and we give
// up at `timeout`. A target that is gone for good fails fast instead of waiting it out.
import { setTimeout as delay } from 'node:timers/promises';
import type { ProbeSpec } from '../config/schema.js';
import { formatDuration } from '../config/units.js';
import { attemptTimeoutFor, describeProbe, type ProbeAttempt, type ProbeResult } from './probes.js';
import { failureSummary, judgeRound, newTrack, recordAttempt, timeoutReason, type HealthTiming, type ProbeTrack } from './probe-track.js';

export type { HealthTiming } from './probe-track.js';

export interface SettleDeps {
  /** One attempt of one probe: createProber() for real, a fake in unit tests. */
  attempt: ProbeAttempt;
  /** Milliseconds on a monotonic clock. */
  clock?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  signal?: AbortSignal;
  onAttempt?: (probe: ProbeSpec, result: ProbeResult) => void;
  /**
   * The transaction's check on the restarted process: true (or a reason) when it died.
   * A version that dies at start never answers, so refusals alone cannot fail it fast.
   */
  isServiceGone?: () => boolean | string | Promise<boolean | string>;
  /** Per attempt; default attemptTimeoutFor(interval). */
  attemptTimeoutMs?: number;
}

export interface HealthVerdict {
  healthy: boolean;
  /** One line naming the failing probe and what it saw. */
  reason: string;
  elapsedMs: number;
  /** The signal stopped the settle before a verdict. */
  aborted?: boolean;
  /** Failed attempts of all probes in this settle (healthy or not). */
  failedAttempts?: number;
  /** The newest failed attempt, as "<probe> <what it saw>"; null when none failed. */
  lastFailure?: string | null;
}

/** Beyond its own timeout, an attempt that still has not returned counts as failed. */
const attemptGuardGraceMs = 1_000;

export async function settleHealth(probes: ProbeSpec[], timing: HealthTiming, deps: SettleDeps): Promise<HealthVerdict> {
  const clock = deps.clock ?? (() => performance.now());
  const sleep = deps.sleep ?? abortableSleep;
  const began = clock();
  const elapsed = (): number => clock() - began;
  if (probes.length === 0) return { healthy: true, reason: 'no probes configured', elapsedMs: 0 };
  const tracks = probes.map(newTrack);
  const attemptTimeoutMs = deps.attemptTimeoutMs ?? attemptTimeoutFor(timing.interval);
  // Bounded: each round but the last waits for the interval, or up to start or timeout.
  const maxRounds = Math.ceil(timing.timeout / Math.max(timing.interval, 1)) + 3;
  for (let round = 0; round < maxRounds; round++) {
    if (deps.signal?.aborted) return abortedVerdict(elapsed());
    const roundBegan = elapsed();
    const results = await Promise.all(tracks.map((t) => guardedAttempt(deps.attempt, t.probe, attemptTimeoutMs)));
    if (deps.signal?.aborted) return abortedVerdict(elapsed());
    const now = elapsed();
    results.forEach((result, i) => {
      recordAttempt(tracks[i]!, result, now);
      deps.onAttempt?.(tracks[i]!.probe, result);
    });
    const verdict = (await serviceGoneVerdict(deps, tracks)) ?? judgeRound(tracks, now, timing);
    if (verdict) return { ...verdict, elapsedMs: now, ...failureSummary(tracks) };
    await sleep(nextWait(tracks, timing, roundBegan, elapsed()), deps.signal);
  }
  const now = elapsed();
  return { healthy: false, reason: timeoutReason(tracks, now, timing), elapsedMs: now, ...failureSummary(tracks) };
}

/** Until the next interval, but wake up exactly at `start` (if pending) and at `timeout`. */
function nextWait(tracks: ProbeTrack[], timing: HealthTiming, roundBegan: number, now: number): number {
  let wakeAt = Math.min(roundBegan + timing.interval, timing.timeout);
  if (now < timing.start && tracks.some((t) => !t.passedOnce)) wakeAt = Math.min(wakeAt, timing.start);
  return Math.max(0, wakeAt - now);
}

async function serviceGoneVerdict(deps: SettleDeps, tracks: ProbeTrack[]): Promise<{ healthy: false; reason: string } | null> {
  if (!deps.isServiceGone) return null;
  const gone = await deps.isServiceGone();
  if (gone === false || gone === '') return null;
  const said = typeof gone === 'string' ? gone : 'the restarted service is gone';
  const failing = tracks.find((t) => t.last && !t.last.ok);
  const seen = failing ? `; ${describeProbe(failing.probe)} ${failing.last!.detail}` : '';
  return { healthy: false, reason: `${said}${seen}` };
}

/** An attempt that throws or never returns is a failed attempt, not a stuck settle. */
async function guardedAttempt(attempt: ProbeAttempt, probe: ProbeSpec, timeoutMs: number): Promise<ProbeResult> {
  let guard: NodeJS.Timeout | undefined;
  const late = new Promise<ProbeResult>((resolve) => {
    guard = setTimeout(
      () => resolve({ ok: false, detail: `gave no answer within ${formatDuration(timeoutMs)}` }),
      timeoutMs + attemptGuardGraceMs,
    );
  });
  const attempted = attempt(probe, { timeoutMs }).catch((err: unknown) => ({
    ok: false,
    detail: `could not be checked: ${err instanceof Error ? err.message : String(err)}`,
  }));
  try {
    return await Promise.race([attempted, late]);
  } finally {
    clearTimeout(guard);
  }
}

export async function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return;
  try {
    await delay(ms, undefined, { signal });
  } catch (err) {
    // The abort is seen by the loop; anything else is a real error.
    if ((err as Error).name !== 'AbortError') throw err;
  }
}

function abortedVerdict(elapsedMs: number): HealthVerdict {
  return { healthy: false, reason: 'the health check was stopped before a verdict', elapsedMs, aborted: true };
}
