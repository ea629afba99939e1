// <state_dir>/state.json: what this host has accepted and done. Written atomically.
import { readFileSync } from 'node:fs';
import { TideError } from '../errors.js';
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
  /** SPEC formats.md#sequence-and-expiry: the highest sequence accepted per channel. */
  sequences: Record<string, number>;
  /** The last accepted revocations (union of all accepted lists). */
  revocations: { sequence: number | null; versions: string[]; keys: string[] };
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
    return { ...empty, ...parsed, revocations: { ...empty.revocations, ...parsed.revocations }, counters: { ...empty.counters, ...parsed.counters } };
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

const maxHistory = 200;

export function appendHistory(state: HostState, entry: HistoryEntry): void {
  state.history.push(entry);
  if (state.history.length > maxHistory) state.history.splice(0, state.history.length - maxHistory);
}
