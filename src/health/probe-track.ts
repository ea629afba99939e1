// What settleHealth remembers about each probe, and the pure judgement over it after
// every round. No clock reads here: `now` (ms since the settle began) is handed in.
import type { ProbeSpec } from '../config/schema.js';
import { formatDuration } from '../config/units.js';
import { limits } from '../limits.js';
import { describeProbe, type ProbeResult } from './probes.js';

export interface HealthTiming {
  /** SPEC config.md#health: timeout, give up and roll back after this long (ms). */
  timeout: number;
  /** SPEC config.md#health: start, every probe must have passed once by then (ms). */
  start: number;
  /** SPEC config.md#health: interval, time between rounds of attempts (ms). */
  interval: number;
  /** SPEC config.md#health: stable, every probe must pass continuously this long (ms). */
  stable: number;
}

export interface ProbeTrack {
  probe: ProbeSpec;
  passedOnce: boolean;
  /** When the current unbroken run of passes began; null while failing. */
  passingSince: number | null;
  /** The application answered at least once in this settle: refusals after that mean it died. */
  answeredOnce: boolean;
  refusedInARow: number;
  last: ProbeResult | null;
  lastFailure: ProbeResult | null;
  /** Failed attempts in this settle (for the failed-probe count). */
  failed: number;
}

export interface RoundVerdict {
  healthy: boolean;
  reason: string;
}

export function newTrack(probe: ProbeSpec): ProbeTrack {
  return { probe, passedOnce: false, passingSince: null, answeredOnce: false, refusedInARow: 0, last: null, lastFailure: null, failed: 0 };
}

export function recordAttempt(track: ProbeTrack, result: ProbeResult, now: number): void {
  track.last = result;
  if (result.answered) track.answeredOnce = true;
  if (result.ok) {
    track.passedOnce = true;
    track.passingSince ??= now;
    track.refusedInARow = 0;
  } else {
    track.passingSince = null;
    track.lastFailure = result;
    track.failed += 1;
    track.refusedInARow = result.refused ? track.refusedInARow + 1 : 0;
  }
}

const saw = (track: ProbeTrack, result: ProbeResult | null = track.last): string =>
  `${describeProbe(track.probe)} ${result?.detail ?? 'was never attempted'}`;

/** Healthy, unhealthy, or null to keep probing. The order is the order of the spec's rules. */
export function judgeRound(tracks: ProbeTrack[], now: number, timing: HealthTiming): RoundVerdict | null {
  const gone = tracks.find((t) => t.last?.gone);
  if (gone) return { healthy: false, reason: `${saw(gone)} (gone for good, not waiting for the timeout)` };

  const refusedRounds = limits.probeRefusedRounds;
  const died = tracks.find((t) => t.answeredOnce && t.refusedInARow >= refusedRounds);
  if (died) {
    return { healthy: false, reason: `${saw(died)} ${refusedRounds} times in a row after it had answered (the service is gone)` };
  }

  const stableFor = (t: ProbeTrack): number => (t.passingSince === null ? -1 : now - t.passingSince);
  if (tracks.every((t) => stableFor(t) >= timing.stable)) {
    const what = tracks.length === 1 ? describeProbe(tracks[0]!.probe) : `all ${tracks.length} probes`;
    return { healthy: true, reason: `${what} passed continuously for ${formatDuration(timing.stable)}` };
  }

  // At the timeout, the timeout is the reason (start defaults to the timeout).
  if (now >= timing.timeout) return { healthy: false, reason: timeoutReason(tracks, now, timing) };

  const neverPassed = tracks.find((t) => !t.passedOnce);
  if (neverPassed && now >= timing.start) {
    // Refused all along: nothing runs (yet). Anything else means the service is up but not ready:
    // a first start slower than `start` (a migration, say) is told apart from a crash.
    const slow = neverPassed.last && !neverPassed.last.refused ? ': a first start slower than start, not a crash (the service is up but not ready; raise [health] start if its first start takes longer)' : '';
    return { healthy: false, reason: `${saw(neverPassed)} (had not passed once by start ${formatDuration(timing.start)}${slow})` };
  }
  return null;
}

/** At the timeout: name a failing probe, or the one whose passing run is too short. */
export function timeoutReason(tracks: ProbeTrack[], now: number, timing: HealthTiming): string {
  const within = `not healthy within ${formatDuration(timing.timeout)}`;
  const failing = tracks.find((t) => t.passingSince === null);
  if (failing) return `${saw(failing)} (${within})`;
  const latest = tracks.reduce((a, b) => ((b.passingSince ?? 0) > (a.passingSince ?? 0) ? b : a));
  const run = formatDuration(now - (latest.passingSince ?? 0));
  const before = latest.lastFailure ? `; before that it ${latest.lastFailure.detail}` : '';
  return `${describeProbe(latest.probe)} passed for only ${run} in a row, stable needs ${formatDuration(timing.stable)}${before} (${within})`;
}

/** The failed attempts of a settle, and the newest failure as one line ("http … answered 500, expected 200"). */
export function failureSummary(tracks: ProbeTrack[]): { failedAttempts: number; lastFailure: string | null } {
  const failedAttempts = tracks.reduce((n, t) => n + t.failed, 0);
  const last = tracks.filter((t) => t.lastFailure !== null).at(-1);
  return { failedAttempts, lastFailure: last ? saw(last, last.lastFailure) : null };
}
