// SPEC host-layout.md#containersjson: <state_dir>/containers.json, what `tide status`
// shows of the containers without loading the config parser or podman's argv from
// it: the containers in start order with their stage and image, the last result of
// each probe, and the reconciler's counters. Written atomically under the lock.
import { join } from 'node:path';
import { z } from 'zod';
import { writeJsonAtomic } from '../store/atomic.js';
import { objectOf, readFields, readRawFile, schemaProblem, type Fields } from '../store/persisted-file.js';
import type { Layout } from '../store/layout.js';

const count = z.number().int().min(0);

export interface ProbeRecord {
  ok: boolean;
  /** What the probe saw, e.g. "answered 200". */
  detail: string;
  /** When (ISO 8601). */
  at: string;
}

export interface ReconcileCounters {
  /** Reconciler passes that ran (not skipped for the lock). */
  runs: number;
  /** Containers recreated (vanished, stopped or on another image). */
  recreated: number;
  /** Running containers left as they were. */
  adopted: number;
  /** Stages that failed. */
  failures: number;
  /** When the last pass ran; null: never. */
  last: string | null;
}

export interface ContainerRecord {
  /** SPEC config.md#podman: argv, so `tide status` asks the same store. */
  podmanArgv: string[];
  /** The current version's containers, in start order. */
  containers: { name: string; stage: string; image: string }[];
  /** By probe id, or by its description when it has none. */
  probes: Record<string, ProbeRecord>;
  /** Each stage's probes, by the same keys. */
  stageProbes: Record<string, string[]>;
  reconcile: ReconcileCounters;
}

const probeRecordSchema = z.object({ ok: z.boolean(), detail: z.string(), at: z.string() });
const emptyCounters = (): ReconcileCounters => ({ runs: 0, recreated: 0, adopted: 0, failures: 0, last: null });

const recordFields: Fields<ContainerRecord> = {
  podmanArgv: { schema: z.array(z.string()).min(1), fallback: () => ['podman'] },
  containers: { schema: z.array(z.object({ name: z.string(), stage: z.string(), image: z.string() })), fallback: () => [] },
  probes: { schema: z.record(z.string(), probeRecordSchema), fallback: () => ({}) },
  stageProbes: { schema: z.record(z.string(), z.array(z.string())), fallback: () => ({}) },
  reconcile: {
    schema: z.object({ runs: count, recreated: count, adopted: count, failures: count, last: z.string().nullable() }),
    fallback: emptyCounters,
  },
};

export const containerRecordPath = (layout: Layout): string => join(layout.stateDir, 'containers.json');

/** A damaged file reads as what is intact in it; the next write replaces it whole. */
export function readContainerRecord(layout: Layout): ContainerRecord {
  const { fields, reason } = objectOf(readRawFile(containerRecordPath(layout)));
  if (reason !== null || schemaProblem(fields, 1) !== null) return readFields({}, recordFields).value;
  return readFields(fields, recordFields).value;
}

export function updateContainerRecord(layout: Layout, change: (record: ContainerRecord) => void): void {
  const record = readContainerRecord(layout);
  change(record);
  writeJsonAtomic(containerRecordPath(layout), { schema: 1, ...record });
}

/** Probes are named by id, else as log lines name them ("http http://127.0.0.1:8080/"). */
export const probeKey = (probe: { id?: string }, described: string): string => probe.id ?? described;

/** The last result of each probe just attempted; a failure to write is logged by the caller, never fatal. */
export function recordProbeResults(layout: Layout, results: ReadonlyMap<string, { ok: boolean; detail: string }>, now: Date): void {
  if (results.size === 0) return;
  updateContainerRecord(layout, (record) => {
    for (const [key, result] of results) record.probes[key] = { ok: result.ok, detail: result.detail, at: now.toISOString() };
  });
}
