// `tide rollback`: back to `previous`, through the same swap → restart → probe
// machinery, so a crash in the middle is settled by `tide verify` like an update.
import { TideError } from '../errors.js';
import { readVersionLink } from '../store/version-links.js';
import { existsSync } from 'node:fs';
import { newPendingMarker, writePendingMarker } from './pending-marker.js';
import { settlePending } from './settle-pending.js';
import { driveTransaction } from './drive-transaction.js';
import { checkLinkPaths } from '../plan/check-link-paths.js';
import type { MachineContext } from './context.js';
import type { TransactionOutcome } from './outcome.js';

export async function runManualRollback(ctx: MachineContext): Promise<TransactionOutcome> {
  // SPEC design.md#probation: during probation, `tide rollback` ends it by rolling back now.
  const leftover = await settlePending(ctx, { endProbation: 'manual rollback (tide rollback) during probation' });
  if (leftover) return leftover;
  const current = readVersionLink(ctx.layout.current);
  const previous = readVersionLink(ctx.layout.previous);
  if (previous === null || !existsSync(ctx.layout.versionDir(previous))) {
    throw new TideError('usage', `there is no previous version to roll back to (current is ${current ?? 'nothing'})`, { file: ctx.layout.previous });
  }
  checkLinkPaths(ctx.config.link, ctx.layout.current);
  // If `previous` turns out unhealthy, flipping back restores previous → itself.
  const marker = newPendingMarker(
    { app: ctx.config.app, kind: 'rollback', from: current, to: previous, previousBefore: previous, reason: 'manual rollback' },
    ctx.now(),
    ctx.config.health.timeout,
  );
  writePendingMarker(ctx.layout, marker);
  return driveTransaction(ctx, marker);
}
