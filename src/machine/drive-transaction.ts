// Walk the transaction from the phase the marker names to its end. `tide update`
// enters at `swapping`; `tide verify` enters wherever a crash left the marker.
import { startVersion } from '../containers/start-version.js';
import { ensureAppLinks, pointVersionLink } from '../store/version-links.js';
import { advancePhase, type PendingMarker } from './pending-marker.js';
import { probeVersion } from './probe-version.js';
import { commitTransaction } from './commit.js';
import { rollBack } from './rollback.js';
import type { MachineContext } from './context.js';
import type { TransactionOutcome } from './outcome.js';
import { TideError } from '../errors.js';

/** swapping → restarting → probing → committing, or → rolling-back: at most five steps. */
const maxSteps = 5;

type Step = { next: PendingMarker } | { done: TransactionOutcome };

export async function driveTransaction(ctx: MachineContext, start: PendingMarker): Promise<TransactionOutcome> {
  let marker = start;
  for (let i = 0; i < maxSteps; i++) {
    const step = await runPhaseSafely(ctx, marker);
    if ('done' in step) return step.done;
    marker = step.next;
  }
  return rollBack(ctx, advancePhase(ctx.layout, marker, 'rolling-back', { reason: 'the transaction did not settle' }));
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * From the marker on, no error ends the run half-swapped: one thrown while going forward
 * (a bug, a failing host call) takes the rollback path, and the release is not blamed;
 * one thrown while rolling back leaves the marker for `tide verify` to redo it; one
 * thrown while committing leaves the marker for `tide verify` to finish the commit.
 */
async function runPhaseSafely(ctx: MachineContext, marker: PendingMarker): Promise<Step> {
  try {
    return await runPhase(ctx, marker);
  } catch (err) {
    const what = `tide failed while ${marker.phase}: ${messageOf(err)}`;
    ctx.logger.log('error', { event: 'error', message: what, from: marker.from, to: marker.to, phase: marker.phase });
    if (marker.phase === 'rolling-back') {
      return { done: { result: 'rollback-failed', from: marker.from, to: marker.to, reason: `${marker.reason ?? 'unhealthy'}; then ${what}; the marker is kept: tide verify redoes the rollback` } };
    }
    if (marker.phase === 'committing') {
      throw new TideError('internal', `${marker.to} is healthy, but ${what}; the marker is kept: tide verify finishes the commit`, { file: ctx.layout.pending }, { cause: err });
    }
    return { next: towardsRollback(ctx, marker, what) };
  }
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

function interrupted(ctx: MachineContext, marker: PendingMarker): PendingMarker | null {
  if (!ctx.interrupt.signal.aborted) return null;
  return advancePhase(ctx.layout, marker, 'rolling-back', { reason: 'interrupted (SIGTERM) before the new version was verified', interrupted: true });
}

async function runPhase(ctx: MachineContext, marker: PendingMarker): Promise<Step> {
  const stop = marker.phase !== 'rolling-back' && marker.phase !== 'committing' ? interrupted(ctx, marker) : null;
  if (stop) return { next: stop };
  switch (marker.phase) {
    case 'swapping':
      ctx.crashPoint('after-marker');
      await swapToNew(ctx, marker);
      return { next: advancePhase(ctx.layout, marker, 'restarting') };
    case 'restarting': {
      const failure = await startVersion(ctx, marker.to);
      ctx.crashPoint('after-restart');
      if (failure) return { next: advancePhase(ctx.layout, marker, 'rolling-back', { reason: failure.reason, ...(failure.hostFault && { hostFault: true }) }) };
      return { next: advancePhase(ctx.layout, marker, 'probing') };
    }
    case 'probing': {
      const verdict = await probeVersion(ctx, marker.to);
      ctx.crashPoint('after-probe');
      if (verdict.aborted) return { next: interrupted(ctx, marker) ?? marker };
      if (!verdict.healthy) return { next: advancePhase(ctx.layout, marker, 'rolling-back', { reason: verdict.reason }) };
      return { next: advancePhase(ctx.layout, marker, 'committing', { reason: verdict.reason }) };
    }
    case 'committing':
      return { done: await commitTransaction(ctx, marker, marker.reason ?? 'healthy') };
    case 'rolling-back':
      return { done: await rollBack(ctx, marker) };
  }
}

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
