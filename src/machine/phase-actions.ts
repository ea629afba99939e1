// What each phase of the table runs. An action does its side effects and reports one
// event; it never decides where the transaction goes next (transitions.ts does).
import { startVersion } from '../containers/start-version.js';
import { ensureAppLinks, pointVersionLink } from '../store/version-links.js';
import type { PendingMarker } from './pending-marker.js';
import { probeVersion } from './probe-version.js';
import { finishCommit, recordCommit } from './commit.js';
import { rollBack } from './rollback.js';
import { probationEnd, watchCommitted } from './probation.js';
import { failedAttempts, lastProbationFailure } from '../health/probation-watch.js';
import { updateHostState } from '../store/host-state.js';
import type { MachineContext } from './context.js';
import type { TransactionOutcome } from './outcome.js';
import type { Phase } from './phases.js';

export type ActionResult =
  /** `extra`: fields the next phase's marker carries. */
  | { event: 'ok'; extra?: Partial<PendingMarker> }
  | { event: 'fail'; reason: string; hostFault?: boolean; lastProbeFailure?: string }
  | { event: 'interrupt'; reason?: string }
  /** The action settled the transaction and returns its outcome. */
  | { event: 'end'; outcome: TransactionOutcome };

export type PhaseAction = (ctx: MachineContext, marker: PendingMarker) => Promise<ActionResult>;

export const phaseActions: Readonly<Record<Phase, PhaseAction>> = {
  async swapping(ctx, marker) {
    ctx.crashPoint('after-marker');
    await swapToNew(ctx, marker);
    return { event: 'ok' };
  },
  async restarting(ctx, marker) {
    // SPEC config.md#stage: the containers start stage by stage, the restart in the service stage.
    const failure = await startVersion(ctx, marker.to);
    ctx.crashPoint('after-restart');
    if (failure) return { event: 'fail', reason: failure.reason, ...(failure.hostFault && { hostFault: true }) };
    return { event: 'ok' };
  },
  async probing(ctx, marker) {
    const verdict = await probeVersion(ctx, marker.to);
    const seen = countProbeFailures(ctx, verdict.failedAttempts ?? 0, verdict.lastFailure ?? null);
    ctx.crashPoint('after-probe');
    if (verdict.aborted) return { event: 'interrupt' };
    if (!verdict.healthy) return { event: 'fail', reason: verdict.reason, ...seen };
    return { event: 'ok', extra: { reason: verdict.reason, ...seen } };
  },
  async committing(ctx, marker) {
    recordCommit(ctx, marker);
    ctx.crashPoint('after-commit-record');
    const reason = marker.reason ?? 'healthy';
    const until = probationEnd(ctx, marker);
    if (until === null) return { event: 'end', outcome: await finishCommit(ctx, marker, reason) };
    ctx.logger.log('info', { event: 'probation', message: `${marker.to} is on probation until ${until.toISOString()}; ${marker.from ?? '(nothing)'} is kept until then`, from: marker.from, to: marker.to, phase: 'probation' });
    // Resumes in probation are counted afresh: the crashes before the commit are not its.
    return { event: 'ok', extra: { probationUntil: until.toISOString(), deadline: until.toISOString(), attempt: 1 } };
  },
  async probation(ctx, marker) {
    // The table keeps the marker on `interrupt`: the hand-off unit resumes it.
    if (ctx.probationHandOff) return { event: 'interrupt', reason: `probation continues in ${ctx.probationHandOff}` };
    const verdict = await watchCommitted(ctx, marker);
    const seen = countProbeFailures(ctx, failedAttempts(verdict.probes), lastProbationFailure(verdict.probes));
    if (seen.lastProbeFailure) noteLateFailure(ctx, marker, seen.lastProbeFailure);
    if (verdict.aborted) return { event: 'interrupt', reason: verdict.reason };
    if (!verdict.healthy) return { event: 'fail', reason: `after the commit, in probation: ${verdict.reason}`, ...seen };
    const outcome = await finishCommit(ctx, marker, `${marker.reason ?? 'healthy'}; ${verdict.reason}`);
    return { event: 'end', outcome: { ...outcome, inProbation: true } };
  },
  async 'rolling-back'(ctx, marker) {
    return { event: 'end', outcome: await rollBack(ctx, marker) };
  },
};

/** SPEC host-layout.md#current-and-previous: flip previous, then current (one rename each), then the links. Idempotent. */
async function swapToNew(ctx: MachineContext, marker: PendingMarker): Promise<void> {
  ctx.logger.log('info', { event: 'swap', message: `switching ${marker.from ?? '(nothing)'} → ${marker.to}`, from: marker.from, to: marker.to, phase: 'swapping' });
  // SPEC config.md#stage: the replaced containers stop first, last stage first; they start in `restarting`.
  await ctx.containers?.switchTo(marker.to);
  if (marker.from !== null) pointVersionLink(ctx.layout, ctx.layout.previous, marker.from);
  ctx.crashPoint('between-flips');
  pointVersionLink(ctx.layout, ctx.layout.current, marker.to);
  ensureAppLinks(ctx.layout, ctx.config.link);
}

/** SPEC host-layout.md#statejson: failed attempts add to counters.failedProbes (tide_failed_probes_total). */
function countProbeFailures(ctx: MachineContext, failed: number, last: string | null): { lastProbeFailure?: string } {
  if (failed > 0) updateHostState(ctx.layout, (state) => { state.counters.failedProbes += failed; });
  return last ? { lastProbeFailure: last } : {};
}

/** The committed history entry keeps the newest failure seen during its probation too. */
function noteLateFailure(ctx: MachineContext, marker: PendingMarker, failure: string): void {
  updateHostState(ctx.layout, (state) => {
    const entry = [...state.history].reverse().find((h) => h.to === marker.to && h.from === marker.from && h.result === 'committed');
    if (entry) entry.lastProbeFailure = failure;
  });
}
