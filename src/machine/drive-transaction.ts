// Walk the transaction table (transitions.ts) from the phase the marker names to an end.
// `tide update` enters at `swapping`; `tide verify` wherever a crash left the marker.
// This file decides nothing: each event's destination comes from the table.
import { advancePhase, type PendingMarker } from './pending-marker.js';
import { rollBack } from './rollback.js';
import { phaseActions, type ActionResult, type PhaseAction } from './phase-actions.js';
import { maxSteps, maxVisitsPerPhase, transitions, type PhaseEvent, type PhaseRow } from './transitions.js';
import type { MachineContext } from './context.js';
import type { TransactionOutcome } from './outcome.js';
import type { Phase } from './phases.js';
import { TideError } from '../errors.js';

type Step = { next: PendingMarker } | { done: TransactionOutcome };

/** The table and the actions the walker follows: always the real ones, but for the loop detector's test. */
export interface TransactionRules {
  table: Readonly<Record<Phase, PhaseRow>>;
  actions: Readonly<Record<Phase, PhaseAction>>;
}

const realRules: TransactionRules = { table: transitions, actions: phaseActions };

const interruptReason = 'interrupted (SIGTERM) before the new version was verified';

export async function driveTransaction(ctx: MachineContext, start: PendingMarker, rules: TransactionRules = realRules): Promise<TransactionOutcome> {
  let marker = start;
  const visits = new Map<Phase, number>();
  for (let i = 0; i < maxSteps; i++) {
    const seen = (visits.get(marker.phase) ?? 0) + 1;
    visits.set(marker.phase, seen);
    // Loop detector: a phase entered again and again is a bug; the rollback ends the run.
    if (seen > maxVisitsPerPhase && marker.phase !== 'rolling-back') {
      marker = towardsRollback(ctx, marker, `the transaction looped: entered ${marker.phase} ${seen} times`);
      continue;
    }
    const step = await runStep(ctx, marker, rules);
    if ('done' in step) return step.done;
    marker = step.next;
  }
  return rollBack(ctx, towardsRollback(ctx, marker, 'the transaction did not settle'));
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

async function runStep(ctx: MachineContext, marker: PendingMarker, rules: TransactionRules): Promise<Step> {
  const row = rules.table[marker.phase];
  if (ctx.interrupt.signal.aborted && row.interrupt !== 'finish') return follow(ctx, marker, row, { event: 'interrupt' });
  let result: ActionResult;
  try {
    result = await rules.actions[marker.phase](ctx, marker);
  } catch (err) {
    return onError(ctx, marker, row, err);
  }
  if (result.event === 'end') return { done: result.outcome };
  return follow(ctx, marker, row, result);
}

/** The marker moves to where the table sends this event, before the next phase's side effect. */
function follow(ctx: MachineContext, marker: PendingMarker, row: PhaseRow, result: Exclude<ActionResult, { event: 'end' }>): Step {
  const to = row[result.event];
  if (to === 'keep-marker') return { done: keptMarker(ctx, marker, result.event, result.event === 'interrupt' ? result.reason : undefined) };
  if (to === 'end' || to === 'finish') {
    throw new TideError('internal', `the ${marker.phase} phase reported ${result.event}, which the transition table does not allow`, { file: ctx.layout.pending });
  }
  return { next: advancePhase(ctx.layout, marker, to, extraFor(result)) };
}

function extraFor(result: Exclude<ActionResult, { event: 'end' }>): Partial<PendingMarker> {
  switch (result.event) {
    case 'ok': return result.extra ?? {};
    case 'fail': return { reason: result.reason, ...(result.hostFault && { hostFault: true }), ...(result.lastProbeFailure && { lastProbeFailure: result.lastProbeFailure }) };
    case 'interrupt': return { reason: result.reason ?? interruptReason, interrupted: true };
  }
}

/**
 * The half-swap rule: from the marker on, no error ends the run half-swapped. A phase whose
 * table row says `rolling-back` rolls back and does not blame the release; one that says
 * `keep-marker` leaves the marker for `tide verify` to redo the phase.
 */
function onError(ctx: MachineContext, marker: PendingMarker, row: PhaseRow, err: unknown): Step {
  const what = `tide failed while ${marker.phase}: ${messageOf(err)}`;
  ctx.logger.log('error', { event: 'error', message: what, from: marker.from, to: marker.to, phase: marker.phase });
  const to = row.error;
  if (to === 'rolling-back') return { next: towardsRollback(ctx, marker, what) };
  if (marker.phase === 'rolling-back') {
    // An operator is needed now (exit 6); `tide verify` redoes the rollback.
    return { done: { result: 'rollback-failed', from: marker.from, to: marker.to, reason: `${marker.reason ?? 'unhealthy'}; then ${what}; the marker is kept: tide verify redoes the rollback` } };
  }
  throw new TideError('internal', `${marker.to} is healthy, but ${what}; the marker is kept: tide verify finishes the ${marker.phase === 'probation' ? 'probation' : 'commit'}`, { file: ctx.layout.pending }, { cause: err });
}

/** A `keep-marker` destination for an event other than an error: the run stops, `tide verify` resumes. */
function keptMarker(ctx: MachineContext, marker: PendingMarker, event: PhaseEvent, said: string | undefined): TransactionOutcome {
  const left = marker.probationUntil ? Math.max(0, Date.parse(marker.probationUntil) - ctx.now().getTime()) : 0;
  const reason = `${said ?? `${event} during ${marker.phase}`}; the marker is kept: tide verify resumes ${marker.phase} (${Math.ceil(left / 1000)}s left)`;
  ctx.logger.log('warn', { event: 'verify', message: reason, from: marker.from, to: marker.to, phase: marker.phase });
  return { result: 'on-probation', from: marker.from, to: marker.to, reason, inProbation: true };
}

/** The rollback phase for tide's own failure; if even the marker cannot be written, roll back from memory. */
function towardsRollback(ctx: MachineContext, marker: PendingMarker, reason: string): PendingMarker {
  const extra = { reason, hostFault: true };
  try {
    return advancePhase(ctx.layout, marker, 'rolling-back', extra);
  } catch (err) {
    ctx.logger.log('error', { event: 'marker', message: `could not record the rollback in the marker: ${messageOf(err)}`, phase: marker.phase });
    return { ...marker, ...extra, phase: 'rolling-back' };
  }
}
