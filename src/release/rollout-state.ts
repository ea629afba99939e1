// The rollout controller's memory, next to the signed pointer it steers:
// <tree>/rollouts/<channel>.json (never published: publish copies only releases/, keys/,
// revocations and channels/). The pointer is the truth for where a rollout stands; this
// file keeps what the pointer cannot: when each step began, the history, and a halt.
// Versioned, read field by field, a damaged file moved aside (src/store/persisted-file.ts).
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../store/atomic.js';
import { moveAside, objectOf, readFields, readRawFile, schemaProblem, validEntries, type Fields } from '../store/persisted-file.js';

export const rolloutStatePath = (tree: string, channel: string): string => join(tree, 'rollouts', `${channel}.json`);

const historyEntry = z.object({
  /** When the controller (or the first promote it saw) acted. */
  time: z.string(),
  version: z.string(),
  /** The percent the pointer names after this entry (100: everyone). */
  percent: z.number(),
  /** The pointer's sequence after this entry. */
  sequence: z.number().int(),
  /** started (first seen), advanced, halted, completed */
  action: z.enum(['started', 'advanced', 'halted', 'completed']),
  /** One line: why. */
  reason: z.string(),
});
export type RolloutHistoryEntry = z.infer<typeof historyEntry>;

const haltRecord = z.object({
  time: z.string(),
  /** The version whose rollout halted. */
  version: z.string(),
  /** Its percent when it halted. */
  percent: z.number(),
  /** The pointer's sequence the halt wrote: while the tree's pointer has it, the rollout stays halted. */
  sequence: z.number().int(),
  reason: z.string(),
});
export type RolloutHalt = z.infer<typeof haltRecord>;

export interface RolloutState {
  /** Oldest first; at most keptHistory entries. */
  history: RolloutHistoryEntry[];
  halted: RolloutHalt | null;
}

/** Enough for a page of history; older entries drop off. */
const keptHistory = 200;

const fields: Fields<RolloutState> = {
  history: { schema: z.array(historyEntry), fallback: () => [], salvage: validEntries(historyEntry) },
  halted: { schema: haltRecord.nullable(), fallback: () => null },
};

/** The state, or an empty one; a damaged file is moved aside (`notes` says so) and read for what survives. */
export function readRolloutState(tree: string, channel: string, now: Date, notes: string[] = []): RolloutState {
  const path = rolloutStatePath(tree, channel);
  const raw = readRawFile(path);
  if (raw.kind === 'missing') return { history: [], halted: null };
  const object = objectOf(raw);
  const read = readFields(object.fields, fields, object.partial);
  const problem = object.reason ?? schemaProblem(object.fields, 1) ?? (read.damaged.length > 0 ? `damaged fields ${read.damaged.join(', ')}` : null);
  if (problem !== null) {
    const aside = moveAside(path, now);
    notes.push(`${path} ${problem}; moved to ${aside}, kept what was readable`);
  }
  return read.value;
}

export function writeRolloutState(tree: string, channel: string, state: RolloutState): void {
  const path = rolloutStatePath(tree, channel);
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const body = { schema: 1, channel, history: state.history.slice(-keptHistory), halted: state.halted };
  writeFileAtomic(path, JSON.stringify(body, null, 2) + '\n');
}
