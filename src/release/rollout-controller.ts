// `tide release rollout`: a rollout that moves and halts by itself, run from cron or CI.
// Each run reads the channel's signed pointer in the release tree (where the rollout
// stands), the fleet's results for the version being rolled out, and decides one thing:
// halt (re-sign the pointer to the fallback release), advance one step (re-sign it with
// the next percent), wait, or nothing. Mirrors stay dumb: the release engineer's side
// does the judging, and `tide release publish` carries the result out.
// Idempotent: a second run with the same inputs finds the step just written too young,
// or the rollout already halted, and changes nothing.
import { TideError } from '../errors.js';
import { parseChannelPointer } from '../documents/parse-document.js';
import type { ChannelPointer } from '../documents/schemas.js';
import { checkName, inTree, isoSeconds, readIfExists, treePaths } from './release-tree.js';
import { haltReasons, type HaltExpression } from './halt-expression.js';
import { metricValues, type VersionResults } from './fleet-results.js';
import { readRolloutState, writeRolloutState, type RolloutHistoryEntry, type RolloutState } from './rollout-state.js';
import { promoteChannel } from './promote-channel.js';
import { readRevocations } from './revoke-releases.js';
import type { SigningKey } from './sign-files.js';

export type RolloutAction = 'halt' | 'advance' | 'wait' | 'halted' | 'none';

export interface RolloutDecision {
  action: RolloutAction;
  /** One line: why. */
  reason: string;
  /** For halt and advance: what the pointer will name. */
  next?: { version: string; percent: number };
}

export interface RolloutFacts {
  pointer: ChannelPointer;
  state: RolloutState;
  /** Ascending percentages, e.g. 1, 10, 50, 100. */
  steps: readonly number[];
  everyMs: number;
  haltOn: HaltExpression;
  /** Commits plus rollbacks of the version needed before a step may advance. */
  minResults: number;
  results: VersionResults | undefined;
  now: Date;
}

export const percentOf = (pointer: ChannelPointer): number => Math.min(pointer.rollout?.percent ?? 100, 100);

/** When the pointer's current step began: the controller's record of it, else when the pointer was signed. */
export function stepStart(pointer: ChannelPointer, state: RolloutState): Date {
  const entry = [...state.history].reverse().find((e) => e.version === pointer.version && e.percent === percentOf(pointer));
  return new Date(entry?.time ?? pointer.published);
}

const minutes = (ms: number): string => (ms >= 7_200_000 ? `${Math.floor(ms / 3_600_000)}h` : `${Math.max(0, Math.floor(ms / 60_000))}m`);

/** The one decision of a run. Pure. */
export function decideRollout(facts: RolloutFacts): RolloutDecision {
  const { pointer, state } = facts;
  const percent = percentOf(pointer);
  if (state.halted && state.halted.sequence === pointer.sequence) {
    const h = state.halted;
    return { action: 'halted', reason: `the rollout of ${h.version} halted at ${h.percent}% on ${h.time}: ${h.reason}; promote again to start over` };
  }
  if (percent >= 100) return { action: 'none', reason: `${pointer.version} is out to every host; nothing to roll out` };
  const values = metricValues(facts.results);
  const why = haltReasons(facts.haltOn, values);
  if (why.length > 0) {
    const to = pointer.fallback ? { version: pointer.fallback.version, percent: 100 } : { version: pointer.version, percent: 0 };
    const target = pointer.fallback ? `the fallback ${to.version}` : `0% (no fallback to point at)`;
    return { action: 'halt', reason: `${pointer.version} at ${percent}% is unhealthy: ${why.join(', ')}; pointing the channel at ${target}`, next: to };
  }
  const next = facts.steps.find((s) => s > percent);
  if (next === undefined) return { action: 'none', reason: `${pointer.version} is at ${percent}%, the last of the steps ${facts.steps.join(',')}` };
  const tried = values.commits + values.rollbacks;
  if (tried < facts.minResults) {
    return { action: 'wait', reason: `${pointer.version} at ${percent}%: ${tried} of ${facts.minResults} result(s) reported so far (--min-results); next step ${next}%` };
  }
  const age = facts.now.getTime() - stepStart(pointer, state).getTime();
  if (age < facts.everyMs) {
    const due = new Date(stepStart(pointer, state).getTime() + facts.everyMs);
    return { action: 'wait', reason: `${pointer.version} at ${percent}% is healthy (${describe(values)}); the step is ${minutes(age)} old, next step ${next}% at ${isoSeconds(due)}` };
  }
  return { action: 'advance', reason: `${pointer.version} at ${percent}% is healthy (${describe(values)}) for ${minutes(age)}; next step ${next}%`, next: { version: pointer.version, percent: next } };
}

const describe = (v: ReturnType<typeof metricValues>): string =>
  `${v.commits} commit(s), ${v.rollbacks} rollback(s), success ${Number.isInteger(v.success) ? v.success : v.success.toFixed(3)}`;

export interface RolloutRequest extends Omit<RolloutFacts, 'pointer' | 'state' | 'results' | 'now'> {
  tree: string;
  app: string;
  channel: string;
  signingKeys: readonly SigningKey[];
  /** The fleet's results for a version (from the reports directory, or Prometheus). */
  resultsFor(version: string): Promise<VersionResults | undefined>;
  expiresInMs?: number;
  now?: Date;
}

export interface RolloutRun extends RolloutDecision {
  channel: string;
  version: string;
  percent: number;
  /** The pointer's sequence after the run. */
  sequence: number;
  results: VersionResults | undefined;
  /** The state file was damaged, or similar. */
  notes: string[];
  /** After a halt: the version whose rollout halted. */
  halted?: string;
}

function readTreePointer(tree: string, app: string, channel: string): ChannelPointer {
  const file = inTree(tree, treePaths.channel(channel));
  const bytes = readIfExists(file);
  if (!bytes) throw new TideError('usage', `channel ${channel} has no pointer in the tree: start the rollout with tide release promote --rollout FIRST_STEP`, { file });
  const pointer = parseChannelPointer(bytes, { file });
  if (pointer.app !== app) throw new TideError('wrong-app', `expected channel ${channel} of app ${app}, found app ${pointer.app}`, { file });
  return pointer;
}

/** Remember the step the pointer is at, the first time a run sees it. */
function noteStep(state: RolloutState, pointer: ChannelPointer): void {
  const percent = percentOf(pointer);
  const last = state.history.at(-1);
  if (last && last.version === pointer.version && last.percent === percent) return;
  const action = percent >= 100 ? 'completed' : 'started';
  state.history.push({ time: pointer.published, version: pointer.version, percent, sequence: pointer.sequence, action, reason: 'promoted' });
}

export async function runRollout(request: RolloutRequest): Promise<RolloutRun> {
  const app = checkName('app', request.app);
  const channel = checkName('channel', request.channel);
  const now = request.now ?? new Date();
  const notes: string[] = [];
  const state = readRolloutState(request.tree, channel, now, notes);
  const pointer = readTreePointer(request.tree, app, channel);
  noteStep(state, pointer);
  // A halted or finished rollout needs no word from the fleet (nor a reachable Prometheus).
  const settled = (state.halted && state.halted.sequence === pointer.sequence) || percentOf(pointer) >= 100;
  const results = settled ? undefined : await request.resultsFor(pointer.version);
  const decision = decideRollout({ ...request, pointer, state, results, now });
  let written = pointer;
  if (decision.action === 'halt' || decision.action === 'advance') {
    written = await applyDecision(request, decision, pointer, now);
    const entry: RolloutHistoryEntry = {
      time: isoSeconds(now), version: written.version, percent: percentOf(written), sequence: written.sequence,
      action: decision.action === 'halt' ? 'halted' : percentOf(written) >= 100 ? 'completed' : 'advanced', reason: decision.reason,
    };
    state.history.push(entry);
    if (decision.action === 'halt') {
      state.halted = { time: entry.time, version: pointer.version, percent: percentOf(pointer), sequence: written.sequence, reason: decision.reason };
    }
  }
  if (state.halted && state.halted.sequence !== written.sequence) state.halted = null;
  writeRolloutState(request.tree, channel, state);
  const halted = decision.action === 'halt' ? { halted: pointer.version } : {};
  return { ...decision, channel, version: written.version, percent: percentOf(written), sequence: written.sequence, results, notes, ...halted };
}

/** Re-sign the pointer: the next step, or the halt target (the fallback for everyone, else 0 %). */
async function applyDecision(request: RolloutRequest, decision: RolloutDecision, pointer: ChannelPointer, now: Date): Promise<ChannelPointer> {
  const next = decision.next!;
  const revoked = readRevocations(request.tree, request.app)?.versions ?? [];
  const haltToFallback = decision.action === 'halt' && next.version !== pointer.version;
  if (haltToFallback && revoked.includes(next.version)) {
    throw new TideError('revoked', `cannot halt to the fallback ${next.version}: it is revoked; promote a good release by hand`, { file: inTree(request.tree, treePaths.revocations) });
  }
  const promoted = await promoteChannel({
    tree: request.tree, app: request.app, channel: request.channel, version: next.version, signingKeys: request.signingKeys,
    ...(next.percent < 100 && { rolloutPercent: next.percent }),
    // Advancing keeps the fallback the pointer names; halting to it leaves none to name.
    ...(next.percent < 100 && { fallback: pointer.fallback?.version ?? null }),
    ...(request.expiresInMs !== undefined && { expiresInMs: request.expiresInMs }),
    now,
  });
  return promoted.pointer;
}
