// SPEC host-layout.md#damaged-files: what a damaged state.json still tells, read field
// by field: every intact field is kept; a damaged `bad` list or `counters` is rebuilt
// from the history that survived. Pure: the caller reads the file and the links.
import { objectOf, readFields, schemaProblem, type RawFile } from './persisted-file.js';
import { hostStateFields, hostStateSchemaVersion, type HistoryEntry, type HostStateFields } from './host-state-schema.js';

export interface HostState extends HostStateFields {
  schema: 1;
}

export function emptyHostState(): HostState {
  return { schema: 1, ...readFields({}, hostStateFields).value };
}

export interface StateDamage {
  /** Why the file is damaged, e.g. "is not valid JSON (…)", "has schema 2, …", "damaged field(s) bad". */
  reason: string;
  /** Fields read intact from the damaged file. */
  intact: (keyof HostStateFields)[];
  /** What was rebuilt instead, one phrase each, for the warning line. */
  rebuilt: string[];
}

export interface SalvagedHostState {
  state: HostState;
  damage: StateDamage | null;
  /** False when there is no state.json at all. */
  present: boolean;
}

/** Rollbacks that were not the version's fault: they never made it bad. */
const notTheVersionsFault = [/^interrupted\b/, /^the pending marker was damaged/];

/** The bad list the history implies: rolled back for its own health, not committed since. */
export function badFromHistory(history: readonly HistoryEntry[], current: string | null): string[] {
  const bad = new Set<string>();
  for (const entry of history) {
    if (entry.result === 'committed' || entry.result === 'manual-rollback') bad.delete(entry.to);
    const failed = entry.result === 'rolled-back' || entry.result === 'rollback-failed';
    if (failed && !notTheVersionsFault.some((re) => re.test(entry.reason ?? ''))) bad.add(entry.to);
  }
  // The version running now is never skipped for an entry the history may have lost.
  if (current !== null) bad.delete(current);
  return [...bad].sort();
}

function countersFromHistory(history: readonly HistoryEntry[]): HostStateFields['counters'] {
  const count = (...results: string[]) => history.filter((h) => results.includes(h.result)).length;
  // Failed probe attempts are not in the history: a rebuilt count starts again from 0.
  return { updates: count('committed', 'manual-rollback'), rollbacks: count('rolled-back', 'rollback-failed'), failedProbes: 0 };
}

/** Read state.json's fields; for a damaged file, also what is rebuilt from what survived. */
export function salvageHostState(raw: RawFile, current: string | null): SalvagedHostState {
  if (raw.kind === 'missing') return { state: emptyHostState(), damage: null, present: false };
  const { fields, partial, reason } = objectOf(raw);
  const read = readFields(fields, hostStateFields, partial);
  // Unknown fields (a newer tide's) are kept as they are, and written back.
  const state: HostState = { ...read.unknown, schema: 1, ...read.value } as HostState;
  const reasons = [reason, schemaProblem(fields, hostStateSchemaVersion), read.damaged.length > 0 ? `damaged field(s) ${read.damaged.join(', ')}` : null];
  const why = reasons.filter((r): r is string => r !== null);
  if (why.length === 0) return { state, damage: null, present: true };
  const names = Object.keys(hostStateFields) as (keyof HostStateFields)[];
  const intact = names.filter((name) => name in fields && !read.damaged.includes(name));
  const rebuilt: string[] = [];
  if (!intact.includes('bad')) {
    state.bad = [...new Set([...state.bad, ...badFromHistory(state.history, current)])].sort();
    rebuilt.push(`bad [${state.bad.join(', ')}] from ${state.history.length} history entries`);
  }
  if (!intact.includes('counters')) {
    const counted = countersFromHistory(state.history);
    state.counters = { updates: Math.max(state.counters.updates, counted.updates), rollbacks: Math.max(state.counters.rollbacks, counted.rollbacks), failedProbes: state.counters.failedProbes };
  }
  // Ask for revocations again at the next check, whatever the file said.
  state.revocationsChecked = null;
  return { state, damage: { reason: why.join('; '), intact, rebuilt }, present: true };
}
