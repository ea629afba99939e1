// <state_dir>/pending.json: the pending-verification marker. Present exactly while
// an update is unsettled; written with write-temp, fsync, rename, fsync-dir.
import { readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { TideError } from '../errors.js';
import { fsyncDir, writeJsonAtomic } from '../store/atomic.js';
import type { Layout } from '../store/layout.js';
import { canMove, isPhase, type Phase } from './phases.js';

export interface PendingMarker {
  schema: 1;
  app: string;
  /** An update, or `tide rollback` (which swaps to previous the same way). */
  kind: 'update' | 'rollback';
  /** The version that was current before; null on a first install. */
  from: string | null;
  to: string;
  /** What `previous` pointed at before the update, restored by a rollback. */
  previousBefore: string | null;
  phase: Phase;
  /** When probing gives up (ISO 8601). */
  deadline: string;
  /** 1 for the first run; each `tide verify` resume adds one. */
  attempt: number;
  startedAt: string;
  /** Why a rollback was decided, once it was. */
  reason?: string;
  /** The rollback was not the new version's fault (SIGTERM): do not mark it bad. */
  interrupted?: boolean;
  /** The rollback came from tide's own error or the host's, not the release's health: do not mark it bad. */
  hostFault?: boolean;
}

export function readPendingMarker(layout: Layout): PendingMarker | null {
  let text: string;
  try {
    text = readFileSync(layout.pending, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let marker: PendingMarker;
  try {
    marker = JSON.parse(text) as PendingMarker;
  } catch (err) {
    throw new TideError('internal', `pending marker is not valid JSON: ${(err as Error).message}`, { file: layout.pending });
  }
  if (!isPhase(marker.phase) || typeof marker.to !== 'string') {
    throw new TideError('internal', `pending marker has an unknown phase ${JSON.stringify(marker.phase)}`, { file: layout.pending });
  }
  return marker;
}

export function writePendingMarker(layout: Layout, marker: PendingMarker): void {
  writeJsonAtomic(layout.pending, marker);
}

/** Move the marker to the next phase (checked against the table) before doing its work. */
export function advancePhase(layout: Layout, marker: PendingMarker, phase: Phase, extra: Partial<PendingMarker> = {}): PendingMarker {
  if (marker.phase !== phase && !canMove(marker.phase, phase)) {
    throw new TideError('internal', `transaction cannot move from ${marker.phase} to ${phase}`, { file: layout.pending });
  }
  const next = { ...marker, ...extra, phase };
  writePendingMarker(layout, next);
  return next;
}

export function removePendingMarker(layout: Layout): void {
  rmSync(layout.pending, { force: true });
  fsyncDir(dirname(layout.pending));
}

/** A fresh marker at `swapping`, the first phase of an update or a manual rollback. */
export function newPendingMarker(
  fields: Pick<PendingMarker, 'app' | 'kind' | 'from' | 'to' | 'previousBefore'> & { reason?: string },
  now: Date,
  healthTimeoutMs: number,
): PendingMarker {
  return {
    schema: 1,
    ...fields,
    phase: 'swapping',
    deadline: new Date(now.getTime() + healthTimeoutMs).toISOString(),
    attempt: 1,
    startedAt: now.toISOString(),
  };
}
