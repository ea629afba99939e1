// Walk the transaction from the phase the marker names to its end. `tide update`
// enters at `swapping`; `tide verify` enters wherever a crash left the marker.
import { restartArgv } from '../config/load-config.js';
import { restartService } from '../system/systemd.js';
import { ensureAppLinks, pointVersionLink } from '../store/version-links.js';
import { advancePhase, type PendingMarker } from './pending-marker.js';
import { probeVersion } from './probe-version.js';
import { commitTransaction } from './commit.js';
import { rollBack } from './rollback.js';
import type { MachineContext } from './context.js';
import type { TransactionOutcome } from './outcome.js';

/** swapping → restarting → probing → committing, or → rolling-back: at most five steps. */
const maxSteps = 5;

type Step = { next: PendingMarker } | { done: TransactionOutcome };

export async function driveTransaction(ctx: MachineContext, start: PendingMarker): Promise<TransactionOutcome> {
  let marker = start;
  for (let i = 0; i < maxSteps; i++) {
    const step = await runPhase(ctx, marker);
    if ('done' in step) return step.done;
    marker = step.next;
  }
  return rollBack(ctx, advancePhase(ctx.layout, marker, 'rolling-back', { reason: 'the transaction did not settle' }));
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
      await swapToNew(ctx, marker);
      return { next: advancePhase(ctx.layout, marker, 'restarting') };
    case 'restarting': {
      const failure = await restartNew(ctx, marker);
      ctx.crashPoint('after-restart');
      if (failure) return { next: advancePhase(ctx.layout, marker, 'rolling-back', { reason: failure }) };
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
  if (marker.from !== null) pointVersionLink(ctx.layout, ctx.layout.previous, marker.from);
  ctx.crashPoint('between-flips');
  pointVersionLink(ctx.layout, ctx.layout.current, marker.to);
  ensureAppLinks(ctx.layout, ctx.config.link);
  await ctx.containers?.switchTo(marker.to);
}

/** Returns why the restart failed, or null. */
async function restartNew(ctx: MachineContext, marker: PendingMarker): Promise<string | null> {
  const argv = restartArgv(ctx.config);
  if (!argv) return null;
  ctx.logger.log('info', { event: 'restart', message: `restarting: ${argv.join(' ')}`, to: marker.to, phase: 'restarting' });
  const outcome = await restartService(ctx.runner, argv, { env: { TIDE_VERSION: marker.to } });
  return outcome.ok ? null : `restart failed: ${outcome.detail}`;
}
