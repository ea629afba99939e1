// <state_dir>/pending.json: the pending-verification marker. Present exactly while
// an update is unsettled; written with write-temp, fsync, rename, fsync-dir; read
// only here, through its schema. A damaged marker is not a crash: settlePending
// moves it aside and settles the host from what is on disk (damaged-marker.ts).
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { TideError } from '../errors.js';
import { fsyncDir, writeJsonAtomic } from '../store/atomic.js';
import type { Layout } from '../store/layout.js';
import { objectOf, readRawFile, schemaProblem } from '../store/persisted-file.js';
import { phaseOrder, type Phase } from './phases.js';
import { canMove } from './transitions.js';

const timestamp = z.string().refine((t) => !Number.isNaN(Date.parse(t)), 'an ISO 8601 time');
const version = z.string().min(1);

/** SPEC host-layout.md#pending-marker: the fields of pending.json (schema 1). */
const markerShape = {
  app: z.string().min(1),
  /** An update, or `tide rollback` (which swaps to previous the same way); absent in the oldest markers. */
  kind: z.enum(['update', 'rollback']).default('update'),
  /** The version that was current before; null on a first install. */
  from: version.nullable(),
  to: version,
  /** What `previous` pointed at before the update, restored by a rollback. */
  previousBefore: version.nullable(),
  /** The phase about to happen. */
  phase: z.enum(phaseOrder as [Phase, ...Phase[]]),
  /** When probing gives up (ISO 8601). */
  deadline: timestamp,
  /** 1 for the first run; each `tide verify` resume adds one. */
  attempt: z.number().int().positive(),
  startedAt: timestamp,
  /** Why a rollback was decided, once it was. */
  reason: z.string().optional(),
  /** The rollback was not the new version's fault (SIGTERM, a damaged marker): do not mark it bad. */
  interrupted: z.boolean().optional(),
  /** The rollback came from tide's own error or the host's, not the release's health: do not mark it bad. */
  hostFault: z.boolean().optional(),
  /**
   * SPEC design.md#probation: when the committed version's probation ends (ISO 8601); set on
   * entering `probation`, kept by a rollback from it (a late rollback). Absent in older markers.
   */
  probationUntil: timestamp.optional(),
  /** The newest failed probe attempt so far ("<probe> <what it saw>"), for the history entry. */
  lastProbeFailure: z.string().optional(),
};
const markerSchema = z.object(markerShape);

export type PendingMarker = { schema: 1 } & z.infer<typeof markerSchema>;

/** What pending.json holds: nothing, a marker, or a damaged file and whichever of its fields are valid. */
export type MarkerFile =
  | { kind: 'none' }
  | { kind: 'marker'; marker: PendingMarker }
  | { kind: 'damaged'; reason: string; salvaged: Partial<PendingMarker>; mtime: Date | null };

/** The one reader of pending.json. Never throws for its contents. */
export function inspectPendingMarker(layout: Layout): MarkerFile {
  const raw = readRawFile(layout.pending);
  if (raw.kind === 'missing') return { kind: 'none' };
  const { fields, reason } = objectOf(raw);
  const schema = schemaProblem(fields, 1);
  const parsed = markerSchema.safeParse(fields);
  if (reason === null && schema === null && parsed.success) {
    // Unknown fields (a newer tide's) ride along and are written back with each phase.
    return { kind: 'marker', marker: { ...fields, schema: 1, ...parsed.data } };
  }
  const problem = reason ?? schema ?? describeIssue(fields, parsed.error);
  return { kind: 'damaged', reason: problem, salvaged: salvageMarker(fields), mtime: raw.mtime };
}

function describeIssue(fields: Record<string, unknown>, error: z.ZodError | undefined): string {
  const required = Object.entries(markerShape).filter(([, schema]) => !(schema as z.ZodType).safeParse(undefined).success).map(([name]) => name);
  const missing = required.filter((name) => fields[name] === undefined);
  if (missing.length > 0) return `has no ${missing.join(', ')}`;
  const issue = error?.issues[0];
  return issue ? `has a bad field ${issue.path.join('.') || '(marker)'} (${issue.message})` : 'is not a marker';
}

/** Each field that is valid on its own. */
function salvageMarker(fields: Record<string, unknown>): Partial<PendingMarker> {
  const salvaged: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(markerShape)) {
    if (!(name in fields)) continue;
    const parsed = (schema as z.ZodType).safeParse(fields[name]);
    if (parsed.success) salvaged[name] = parsed.data;
  }
  return salvaged as Partial<PendingMarker>;
}

/** The marker, or null when there is none. A damaged one throws: settlePending repairs it before anyone else reads it. */
export function readPendingMarker(layout: Layout): PendingMarker | null {
  const file = inspectPendingMarker(layout);
  if (file.kind === 'none') return null;
  if (file.kind === 'marker') return file.marker;
  throw new TideError('internal', `pending marker ${file.reason}`, { file: layout.pending });
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
