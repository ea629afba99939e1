// SPEC design.md#the-transition-table: the one place that decides where the transaction
// goes. Each phase names what it runs and where it goes on every event; the drivers
// (`tide update`, `tide rollback`, `tide verify`) only walk this table (walk-transaction.ts).
// Modelled on Mender's client: every state and event spelled out, a bounded walk,
// and a loop detector.
import type { Phase } from './phases.js';

/** A phase's action ends in one of these; the table says where each one leads. */
export type PhaseEvent =
  /** The action did its work. */
  | 'ok'
  /** The release failed it (unhealthy, a failed restart). */
  | 'fail'
  /** SIGTERM before or during the action. */
  | 'interrupt'
  /** The action threw: a bug, a failing host call (the half-swap rule). */
  | 'error';

/** Where an event leads: another phase, or an end of the run. */
export type Destination =
  | Phase
  /** The action returned the run's outcome itself (the commit without probation, the end of probation, a rollback). */
  | 'end'
  /** Finish the action whatever the signal says: undoing it would be worse than completing it. */
  | 'finish'
  /** Stop the run with the marker kept as it is: `tide verify` resumes this phase. */
  | 'keep-marker';

export interface PhaseRow {
  /** What the phase runs, in one line (docs/design.md shows this table). */
  runs: string;
  ok: Destination;
  fail: Destination;
  /** SIGTERM: checked before the action (and by actions that can stop early). */
  interrupt: Destination;
  /** A thrown error: forward phases roll back, blaming the host, not the release. */
  error: Destination;
  /** Where `tide verify` enters after a crash (kill -9, reboot) left the marker in this phase. */
  resume: Phase;
  /** Where a resume beyond `maxAttempts` goes instead; null: no cap (the phase must run to its end). */
  overCap: Phase | null;
}

export const transitions: Readonly<Record<Phase, PhaseRow>> = {
  swapping: {
    runs: 'flip previous, then current, make every [[link]] point into current, swap the containers',
    ok: 'restarting', fail: 'rolling-back', interrupt: 'rolling-back', error: 'rolling-back',
    resume: 'swapping', overCap: 'rolling-back',
  },
  restarting: {
    runs: 'run the [service] restart command',
    ok: 'probing', fail: 'rolling-back', interrupt: 'rolling-back', error: 'rolling-back',
    resume: 'restarting', overCap: 'rolling-back',
  },
  probing: {
    runs: 'probe the new version until healthy (start, stable) or unhealthy (timeout, dead at start)',
    ok: 'committing', fail: 'rolling-back', interrupt: 'rolling-back', error: 'rolling-back',
    resume: 'probing', overCap: 'rolling-back',
  },
  committing: {
    // Without [health] probation the action removes the marker, cleans up and prunes, and ends the run.
    runs: 'record the commit in the history, run hooks/post-commit; without probation also remove the marker and prune',
    ok: 'probation', fail: 'rolling-back', interrupt: 'finish', error: 'keep-marker',
    resume: 'committing', overCap: null,
  },
  probation: {
    runs: 'keep probing every interval until [health] probation has passed; then remove the marker, the old containers, prune',
    ok: 'end', fail: 'rolling-back', interrupt: 'keep-marker', error: 'keep-marker',
    resume: 'probation', overCap: 'rolling-back',
  },
  'rolling-back': {
    runs: 'flip current back, containers back, restart and probe the old version; record rolled-back or rollback-failed',
    ok: 'end', fail: 'end', interrupt: 'finish', error: 'keep-marker',
    resume: 'rolling-back', overCap: null,
  },
};

/** Resumes beyond this count go to the row's `overCap`: a version that kills the host must not loop. */
export const maxAttempts = 3;

/** Loop detector: no phase is entered more often than this in one run. */
export const maxVisitsPerPhase = 2;

/** And no run takes more steps than this (every phase once, plus a rollback, plus slack). */
export const maxSteps = Object.keys(transitions).length + 2;

/** Whether the marker may move from one phase to another: some event of `from` leads to `to`. */
export function canMove(from: Phase, to: Phase): boolean {
  const row = transitions[from];
  return [row.ok, row.fail, row.interrupt, row.error].includes(to);
}

/** Where `tide verify` enters for a marker left in `phase` on its `attempt`-th run. */
export function resumePhase(phase: Phase, attempt: number): Phase {
  const row = transitions[phase];
  return attempt > maxAttempts && row.overCap !== null ? row.overCap : row.resume;
}
