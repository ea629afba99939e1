// <state_dir>/state.json: what this host has accepted and done. Written atomically.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { TideError } from '../errors.js';
import type { AcceptedPointer, RememberedFacts } from '../trust/accepted-facts.js';
import { writeJsonAtomic } from './atomic.js';
import type { Layout } from './layout.js';

export type TransactionResult = 'committed' | 'rolled-back' | 'rollback-failed' | 'refused' | 'failed' | 'manual-rollback';

export interface HistoryEntry {
  /** When the transaction settled (ISO 8601). */
  time: string;
  from: string | null;
  to: string;
  result: TransactionResult;
  /** Why it failed, one line; absent when it committed. */
  reason?: string;
  durationMs?: number;
}

/** What a mirror last served for one path: its validators, and the verified bytes kept in <state_dir>/cache/. */
export interface ConditionalCache {
  /** The ETag the mirror sent, sent back as If-None-Match. */
  etag?: string;
  /** The Last-Modified the mirror sent, sent back as If-Modified-Since. */
  lastModified?: string;
  /** sha256 of the bytes (and name of the file in <state_dir>/cache/) whose signature verified. */
  sha256: string;
}

export interface HostState {
  schema: 1;
  /** SPEC formats.md#sequence-and-expiry: the highest sequence accepted per channel (kept for older tide versions; see acceptedPointers). */
  sequences: Record<string, number>;
  /** SPEC trust.md#equivocation: per channel the accepted pointer's sequence, the sha256 of its bytes, and the root that accepted it. */
  acceptedPointers: Record<string, AcceptedPointer>;
  /** The last accepted revocations (union of all accepted lists); `root`: the root version that accepted the sequence. */
  revocations: { sequence: number | null; versions: string[]; keys: string[]; root?: number };
  /** Versions that failed their health check here; skipped unless --force. */
  bad: string[];
  /** Every transaction, oldest first. */
  history: HistoryEntry[];
  /** When the mirrors were last asked (ISO 8601). */
  lastCheck: string | null;
  /** The result of the last update run: up-to-date, committed, rolled-back, … */
  lastResult: string | null;
  /** When the last run succeeded (ISO 8601), for metrics. */
  lastSuccess: string | null;
  /** Per "<mirror> <path>" (channel pointers, revocations): validators for cheap no-op checks. */
  conditional: Record<string, ConditionalCache>;
  /** When revocations.json was last asked for (ISO 8601); an unchanged pointer skips it for limits.revocationsRecheckMs. */
  revocationsChecked: string | null;
  /** Counters for metrics. */
  counters: { updates: number; rollbacks: number };
}

export function emptyHostState(): HostState {
  return {
    schema: 1,
    sequences: {},
    acceptedPointers: {},
    revocations: { sequence: null, versions: [], keys: [] },
    bad: [],
    history: [],
    lastCheck: null,
    lastResult: null,
    lastSuccess: null,
    conditional: {},
    revocationsChecked: null,
    counters: { updates: 0, rollbacks: 0 },
  };
}

export function readHostState(layout: Layout): HostState {
  let text: string;
  try {
    text = readFileSync(layout.state, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyHostState();
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as Partial<HostState>;
    const empty = emptyHostState();
    return {
      ...empty, ...parsed,
      acceptedPointers: readAcceptedPointers((parsed as { acceptedPointers?: unknown }).acceptedPointers),
      revocations: { ...empty.revocations, ...parsed.revocations }, counters: { ...empty.counters, ...parsed.counters },
    };
  } catch (err) {
    throw new TideError('internal', `state file is not valid JSON: ${(err as Error).message}`, { file: layout.state });
  }
}

export function writeHostState(layout: Layout, state: HostState): void {
  writeJsonAtomic(layout.state, state);
}

/** Read, change, write back. Callers hold the state-dir lock. */
export function updateHostState(layout: Layout, change: (state: HostState) => void): HostState {
  const state = readHostState(layout);
  change(state);
  writeHostState(layout, state);
  return state;
}

const acceptedPointerSchema = z.object({
  sequence: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
  root: z.number().int().min(1),
});

/** Files written before acceptedPointers existed have none; a damaged entry is dropped (sequences still holds its number). */
function readAcceptedPointers(value: unknown): Record<string, AcceptedPointer> {
  if (typeof value !== 'object' || value === null) return {};
  const kept: Record<string, AcceptedPointer> = {};
  for (const [channel, entry] of Object.entries(value)) {
    const parsed = acceptedPointerSchema.safeParse(entry);
    if (parsed.success) kept[channel] = parsed.data;
  }
  return kept;
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
