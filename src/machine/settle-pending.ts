// `tide verify`, and step 2 of every update: settle whatever a crash, a reboot or
// kill -9 left. The marker names the phase; we resume from it.
import { readPendingMarker, writePendingMarker, advancePhase, type PendingMarker } from './pending-marker.js';
import { maxAttempts } from './phases.js';
import { driveTransaction } from './drive-transaction.js';
import { clearStaging } from './stage-release.js';
import type { MachineContext } from './context.js';
import type { TransactionOutcome } from './outcome.js';

export async function settlePending(ctx: MachineContext): Promise<TransactionOutcome | null> {
  clearStaging(ctx);
  const found = readPendingMarker(ctx.layout);
  if (!found) return null;
  let marker: PendingMarker = { ...found, attempt: found.attempt + 1 };
  ctx.logger.log('warn', { event: 'verify', message: `settling the unfinished ${marker.kind ?? 'update'} ${marker.from ?? '(nothing)'} → ${marker.to} from phase ${marker.phase} (attempt ${marker.attempt})`, from: marker.from, to: marker.to, phase: marker.phase });
  if (marker.attempt > maxAttempts && marker.phase !== 'rolling-back' && marker.phase !== 'committing') {
    // A version that keeps killing tide (or the host) is not given a fourth chance.
    marker = advancePhase(ctx.layout, marker, 'rolling-back', { reason: `the update did not settle in ${maxAttempts} attempts` });
  } else {
    writePendingMarker(ctx.layout, marker);
  }
  return driveTransaction(ctx, marker);
}
