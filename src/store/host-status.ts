// SPEC commands.md#status-json: what an operator (or a fleet dashboard) asks first.
// `tide status` must start without zod (docs/benchmarks.md), so a state.json or
// pending.json that is plainly well formed is shown as it is; anything else is read
// through the one reader of that file (loaded only then), which salvages what it can.
// Status holds no lock: it never moves a damaged file aside, the next run does.
import { readFileSync } from 'node:fs';
import type { Config } from '../config/load-config.js';
import { layoutFor, type Layout } from './layout.js';
import { readVersionLink } from './version-links.js';
import { isPhase } from '../machine/phases.js';

export interface HostStatus {
  app: string;
  channel: string;
  current: string | null;
  previous: string | null;
  /** `phase` is "damaged" for a marker that cannot be read, with whatever fields survived. */
  pending: { from: string | null; to: string | null; phase: string; deadline: string | null; probationUntil?: string } | null;
  bad: string[];
  lastCheck: string | null;
  lastResult: string | null;
  /** SPEC host-layout.md#damaged-files: state files found damaged; the next run that holds the lock repairs them. */
  damaged: string[];
}

/** Only the keys it shows: `tide status` reads them without the full config loader. */
export async function readHostStatus(config: Pick<Config, 'app' | 'channel' | 'state_dir'>): Promise<HostStatus> {
  const layout = layoutFor(config.state_dir);
  const damaged: string[] = [];
  const state = peekState(layout.state) ?? (await salvagedState(layout, damaged));
  const peeked = peekPending(layout.pending);
  const marker = peeked === undefined ? await salvagedPending(layout, damaged) : peeked;
  return {
    app: config.app,
    channel: config.channel,
    current: readVersionLink(layout.current),
    previous: readVersionLink(layout.previous),
    pending: marker,
    bad: state.bad,
    lastCheck: state.lastCheck,
    lastResult: state.lastResult,
    damaged,
  };
}

type ShownState = Pick<HostStatus, 'bad' | 'lastCheck' | 'lastResult'>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const stringOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';
const absentOr = (v: unknown, ok: (x: unknown) => boolean) => v === undefined || ok(v);

/** A file's JSON; null when there is no file; undefined when it is not plainly JSON. */
function peekJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? null : undefined;
  }
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The shown fields of a plainly good state.json; undefined for anything the real reader should judge. */
function peekState(path: string): ShownState | undefined {
  const json = peekJson(path);
  if (json === null) return { bad: [], lastCheck: null, lastResult: null };
  if (!isObject(json) || !absentOr(json.schema, (s) => s === 1)) return undefined;
  const { bad, lastCheck, lastResult } = json;
  if (!absentOr(bad, (b) => Array.isArray(b) && b.every((v) => typeof v === 'string'))) return undefined;
  if (!absentOr(lastCheck, stringOrNull) || !absentOr(lastResult, stringOrNull)) return undefined;
  return { bad: (bad as string[] | undefined) ?? [], lastCheck: (lastCheck as string | null | undefined) ?? null, lastResult: (lastResult as string | null | undefined) ?? null };
}

async function salvagedState(layout: Layout, damaged: string[]): Promise<ShownState> {
  const { inspectHostState } = await import('./host-state.js');
  const { state, damage } = inspectHostState(layout);
  if (damage) damaged.push('state.json');
  return { bad: state.bad, lastCheck: state.lastCheck, lastResult: state.lastResult };
}

/** A plainly good marker's shown fields, null for none; undefined for anything the real reader should judge. */
function peekPending(path: string): HostStatus['pending'] | undefined {
  const json = peekJson(path);
  if (json === null) return null;
  if (!isObject(json) || json.schema !== 1) return undefined;
  const { from, to, phase, deadline, probationUntil } = json;
  if (!stringOrNull(from) || typeof to !== 'string' || !isPhase(phase) || typeof deadline !== 'string') return undefined;
  if (!absentOr(probationUntil, (v) => typeof v === 'string')) return undefined;
  // SPEC design.md#probation: while on probation (and in a late rollback), when probation ends.
  return { from, to, phase, deadline, ...(typeof probationUntil === 'string' && { probationUntil }) };
}

async function salvagedPending(layout: Layout, damaged: string[]): Promise<HostStatus['pending']> {
  const { inspectPendingMarker } = await import('../machine/pending-marker.js');
  const file = inspectPendingMarker(layout);
  if (file.kind === 'none') return null;
  if (file.kind === 'marker') {
    const { from, to, phase, deadline, probationUntil } = file.marker;
    return { from, to, phase, deadline, ...(probationUntil !== undefined && { probationUntil }) };
  }
  damaged.push('pending.json');
  const { from, to, deadline } = file.salvaged;
  return { from: from ?? null, to: to ?? null, phase: 'damaged', deadline: deadline ?? null };
}
