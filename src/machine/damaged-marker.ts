// SPEC host-layout.md#a-damaged-pendingjson: a marker that cannot be read still means an
// update (or `tide rollback`) was under way. Its phase is lost, so the host is settled
// from what is on disk, conservatively, through the normal phases:
//   - `current` names the version being installed (the flip happened): resume from
//     `swapping` — swap again, restart, probe — and commit or roll back as any update;
//   - otherwise settle on what `current` names: the rollback path (links, containers,
//     restart, probe of that version), with nothing marked bad.
// Pure: the caller reads the links, history and versions/.
import type { HistoryEntry } from '../store/host-state.js';
import type { PendingMarker } from './pending-marker.js';

export interface HostFacts {
  current: string | null;
  previous: string | null;
  history: readonly HistoryEntry[];
  /** Whether versions/<v>/ is there. */
  installed: (version: string) => boolean;
}

export interface MarkerPlan {
  /** The marker to settle with, written before anything is done; null when there is nothing to settle. */
  marker: PendingMarker | null;
  /** What tide does, for the warning line. */
  says: string;
}

/** SPEC host-layout.md#a-damaged-pendingjson: the reason a settled-on-current rollback records; never a bad version. */
export const damagedMarkerReason = 'the pending marker was damaged';

/** The version `current` named when the newest transaction in the history settled, if known. */
export function lastSettledCurrent(history: readonly HistoryEntry[]): string | null {
  const last = history.at(-1);
  if (!last) return null;
  if (last.result === 'committed' || last.result === 'manual-rollback') return last.to;
  if (last.result === 'rolled-back') return last.from;
  return null;
}

/** The newest version the history ran that is still installed and not excluded. */
function earlierGoodVersion(facts: HostFacts, exclude: readonly (string | null)[]): string | null {
  for (const entry of [...facts.history].reverse()) {
    const ran = entry.result === 'committed' || entry.result === 'manual-rollback' ? [entry.to, entry.from] : [entry.from];
    for (const v of ran) if (v !== null && !exclude.includes(v) && facts.installed(v)) return v;
  }
  return null;
}

const usable = (facts: HostFacts, v: string | null | undefined): v is string => typeof v === 'string' && facts.installed(v);

export interface MarkerBase {
  app: string;
  now: Date;
  healthTimeoutMs: number;
  /** When the damaged file was last written: a lower bound of the transaction's start. */
  writtenAt: Date | null;
}

export function planAfterDamagedMarker(salvaged: Partial<PendingMarker>, facts: HostFacts, base: MarkerBase): MarkerPlan {
  const { current, previous } = facts;
  const knownGood = lastSettledCurrent(facts.history);
  // The version being installed: the marker's, or the one current names if the history never settled on it.
  const to = usable(facts, salvaged.to) ? salvaged.to : current !== null && current !== knownGood ? current : null;
  const salvagedFrom = salvaged.from === null || usable(facts, salvaged.from) ? salvaged.from : undefined;
  const fields = {
    schema: 1 as const,
    app: base.app,
    kind: salvaged.kind ?? 'update',
    deadline: new Date(base.now.getTime() + base.healthTimeoutMs).toISOString(),
    attempt: salvaged.attempt ?? 0,
    // Commit records history once: a start no later than the marker's last write finds an earlier record.
    startedAt: salvaged.startedAt ?? (base.writtenAt ?? base.now).toISOString(),
  };
  if (to !== null && (current === to || current === null)) {
    const from = salvagedFrom !== undefined ? salvagedFrom : [knownGood, previous].find((v) => usable(facts, v) && v !== to) ?? null;
    const previousBefore = pickPreviousBefore(salvaged, facts, [from, to]);
    return {
      marker: { ...fields, from, to, previousBefore, phase: 'swapping' },
      says: `current names ${to}: resuming the ${fields.kind} ${from ?? '(nothing)'} → ${to} from swapping (swap again, restart, probe)`,
    };
  }
  if (current === null) {
    return { marker: null, says: 'nothing is installed and the marker names no installed version: nothing to settle' };
  }
  const previousBefore = pickPreviousBefore(salvaged, facts, [current]);
  return {
    marker: {
      ...fields, from: current, to: to ?? current, previousBefore, phase: 'rolling-back', interrupted: true,
      reason: `${damagedMarkerReason}; settled on ${current}, which current names`,
    },
    says: `settling on ${current}, which current names (links, restart, probe); ${to ?? 'the version being installed'} is not marked bad`,
  };
}

/** What `previous` is restored to by a rollback: the marker's, else the link if it still makes sense, else the history's. */
function pickPreviousBefore(salvaged: Partial<PendingMarker>, facts: HostFacts, exclude: readonly (string | null)[]): string | null {
  if (salvaged.previousBefore === null || usable(facts, salvaged.previousBefore)) return salvaged.previousBefore;
  if (usable(facts, facts.previous) && !exclude.includes(facts.previous)) return facts.previous;
  return earlierGoodVersion(facts, exclude);
}
