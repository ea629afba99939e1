// <state_dir>/state.json: what this host has accepted and done. Written atomically,
// read only here, through its schema (host-state-schema.ts). A damaged file never
// stops a run: readers get what survived; under the lock, the run's first step
// (repairHostState) sets it aside and rebuilds it.
import type { AcceptedPointer, RememberedFacts } from '../trust/accepted-facts.js';
import { writeJsonAtomic } from './atomic.js';
import type { Layout } from './layout.js';
import { moveAside, readRawFile } from './persisted-file.js';
import { salvageHostState, type HostState, type SalvagedHostState } from './salvage-host-state.js';
import { readVersionLink } from './version-links.js';
import type { HistoryEntry } from './host-state-schema.js';

export type { HistoryEntry, TransactionResult, ConditionalCache } from './host-state-schema.js';
export { emptyHostState, type HostState, type StateDamage } from './salvage-host-state.js';

/** The one reader of state.json: the state, and what was wrong with the file if anything. */
export function inspectHostState(layout: Layout): SalvagedHostState {
  return salvageHostState(readRawFile(layout.state), readVersionLink(layout.current));
}

/** What state.json says (or, when it is damaged, what survived). Never throws for its contents. */
export function readHostState(layout: Layout): HostState {
  return inspectHostState(layout).state;
}

export function writeHostState(layout: Layout, state: HostState): void {
  writeJsonAtomic(layout.state, state);
}

/** Read, change, write back. Callers hold the state-dir lock. */
export function updateHostState(layout: Layout, change: (state: HostState) => void, now: Date = new Date()): HostState {
  const { state, damage } = inspectHostState(layout);
  // Damaged since the run's repair (by hand, mid-run): never write over the only copy.
  if (damage) moveAside(layout.state, now);
  change(state);
  writeHostState(layout, state);
  return state;
}

/**
 * What the trust store is handed: per channel the accepted pointer. An older tide wrote
 * only `sequences` (or wrote a higher one since): then the sha256 is not known.
 */
export function rememberedFacts(state: HostState): RememberedFacts {
  const accepted: Record<string, AcceptedPointer> = { ...state.acceptedPointers };
  for (const [channel, sequence] of Object.entries(state.sequences)) {
    const known = accepted[channel];
    if (!known || known.sequence < sequence) accepted[channel] = { sequence, sha256: null, root: known?.root ?? 1 };
  }
  return { accepted, revocations: { ...state.revocations } };
}

/** Record what the trust store accepted; `sequences` mirrors it for older readers. A floor may lower a sequence. */
export function recordFacts(state: HostState, facts: RememberedFacts): void {
  state.acceptedPointers = facts.accepted;
  state.sequences = Object.fromEntries(Object.entries(facts.accepted).map(([channel, a]) => [channel, a.sequence]));
  state.revocations = facts.revocations;
}

const maxHistory = 200;

export function appendHistory(state: HostState, entry: HistoryEntry): void {
  state.history.push(entry);
  if (state.history.length > maxHistory) state.history.splice(0, state.history.length - maxHistory);
}
