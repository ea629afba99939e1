// `tide verify`, and step 2 of every update: settle whatever a crash, a reboot or
// kill -9 left. The marker names the phase; we resume from it. Damaged state files
// are repaired first: state.json, the document cache, then the marker itself.
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { inspectPendingMarker, writePendingMarker, advancePhase, type PendingMarker } from './pending-marker.js';
import { planAfterDamagedMarker } from './damaged-marker.js';
import { maxAttempts, resumePhase } from './transitions.js';
import { driveTransaction } from './drive-transaction.js';
import { clearStaging } from './stage-release.js';
import { readTrustedKeysFromConfig } from './trusted-keys-file.js';
import { readHostState } from '../store/host-state.js';
import { repairHostState } from '../store/rebuild-host-state.js';
import { moveAside } from '../store/persisted-file.js';
import { readVersionLink } from '../store/version-links.js';
import type { MachineContext } from './context.js';
import type { TransactionOutcome } from './outcome.js';

export interface SettleOptions {
  /** `tide rollback`: a marker in probation is not resumed but rolled back now, for this reason (not marked bad). */
  endProbation?: string;
}

export async function settlePending(ctx: MachineContext, opts: SettleOptions = {}): Promise<TransactionOutcome | null> {
  clearStaging(ctx);
  await repairStateFiles(ctx);
  const found = readMarkerOrSettleDamage(ctx);
  if (!found) return null;
  let marker: PendingMarker = { ...found.marker, attempt: found.marker.attempt + 1 };
  if (!found.damaged) {
    ctx.logger.log('warn', { event: 'verify', message: `settling the unfinished ${marker.kind ?? 'update'} ${marker.from ?? '(nothing)'} → ${marker.to} from phase ${marker.phase} (attempt ${marker.attempt})`, from: marker.from, to: marker.to, phase: marker.phase });
  }
  const resumeAt = resumePhase(marker.phase, marker.attempt);
  if (opts.endProbation && marker.phase === 'probation') {
    marker = advancePhase(ctx.layout, marker, 'rolling-back', { reason: opts.endProbation, interrupted: true });
  } else if (resumeAt !== marker.phase) {
    // A version that keeps killing tide (or the host) is not given a fourth chance.
    marker = advancePhase(ctx.layout, marker, resumeAt, { reason: `the update did not settle in ${maxAttempts} attempts` });
  } else {
    writePendingMarker(ctx.layout, marker);
  }
  return driveTransaction(ctx, marker);
}

/**
 * SPEC host-layout.md#damaged-files: state.json and the document cache, before anything
 * reads them. Every command that holds the lock runs this first (through settlePending,
 * and `tide check` through checkForUpdate).
 */
export async function repairStateFiles(ctx: MachineContext): Promise<void> {
  await repairHostState(ctx.layout, {
    now: ctx.now(),
    trust: async () => ({ app: ctx.config.app, keys: await readTrustedKeysFromConfig(ctx.config), threshold: ctx.config.threshold }),
    warn: (message) => ctx.logger.log('warn', { event: 'state', message }),
  });
}

/** The marker; or, for a damaged one, moved aside and replaced by the one the host's state implies. */
function readMarkerOrSettleDamage(ctx: MachineContext): { marker: PendingMarker; damaged: boolean } | null {
  const file = inspectPendingMarker(ctx.layout);
  if (file.kind === 'none') return null;
  if (file.kind === 'marker') return { marker: file.marker, damaged: false };
  const plan = planAfterDamagedMarker(file.salvaged, {
    current: readVersionLink(ctx.layout.current),
    previous: readVersionLink(ctx.layout.previous),
    history: readHostState(ctx.layout).history,
    installed: (version) => existsSync(ctx.layout.versionDir(version)),
  }, { app: ctx.config.app, now: ctx.now(), healthTimeoutMs: ctx.config.health.timeout, writtenAt: file.mtime });
  const keptAs = basename(moveAside(ctx.layout.pending, ctx.now()));
  // The new marker is on disk before anything is done, so a crash now resumes it.
  if (plan.marker) writePendingMarker(ctx.layout, plan.marker);
  ctx.logger.log('warn', {
    event: 'verify',
    message: `pending.json ${file.reason}; kept as ${keptAs}; ${plan.says} (file ${ctx.layout.pending})`,
    from: plan.marker?.from ?? null, to: plan.marker?.to ?? null, phase: plan.marker?.phase,
  });
  return plan.marker && { marker: plan.marker, damaged: true };
}
