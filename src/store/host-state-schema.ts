// SPEC host-layout.md#statejson: the one schema of <state_dir>/state.json, field by
// field, so a damaged field is salvaged or falls back on its own and the others stay.
// To add a field: one entry in `hostStateFields` (schema, fallback, salvage), a line in
// docs/host-layout.md#statejson, and, if it can be rebuilt, a rule in rebuild-host-state.ts.
// Adding a field never bumps `schema` (older tides keep it as an unknown field).
import { z } from 'zod';
import { validEntries, validValues, type Fields } from './persisted-file.js';

export const hostStateSchemaVersion = 1;

const timestamp = z.string().refine((t) => !Number.isNaN(Date.parse(t)), 'an ISO 8601 time');
const count = z.number().int().nonnegative();
const version = z.string().min(1);

export const transactionResults = ['committed', 'rolled-back', 'rollback-failed', 'refused', 'failed', 'manual-rollback'] as const;
export type TransactionResult = (typeof transactionResults)[number];

export const historyEntrySchema = z.object({
  /** When the transaction settled (ISO 8601). */
  time: timestamp,
  from: version.nullable(),
  to: version,
  result: z.enum(transactionResults),
  /** Why it failed, one line; absent when it committed. */
  reason: z.string().optional(),
  durationMs: z.number().nonnegative().optional(),
  /** The newest failed probe attempt of this transaction ("<probe> <what it saw>"), even when it committed. */
  lastProbeFailure: z.string().optional(),
  /** SPEC design.md#probation: a rollback decided after the commit, during probation (a late rollback). */
  inProbation: z.boolean().optional(),
});
export type HistoryEntry = z.infer<typeof historyEntrySchema>;

/** What a mirror last served for one path: its validators, and the verified bytes kept in <state_dir>/cache/. */
export const conditionalEntrySchema = z.object({
  /** The ETag the mirror sent, sent back as If-None-Match. */
  etag: z.string().optional(),
  /** The Last-Modified the mirror sent, sent back as If-Modified-Since. */
  lastModified: z.string().optional(),
  /** sha256 of the bytes (and name of the file in <state_dir>/cache/) whose signature verified. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type ConditionalCache = z.infer<typeof conditionalEntrySchema>;

const revocationsFields = {
  sequence: { schema: count.nullable(), fallback: () => null },
  root: { schema: z.number().int().min(1).optional(), fallback: () => undefined },
  versions: { schema: z.array(z.string()), fallback: () => [], salvage: validEntries(z.string()) },
  keys: { schema: z.array(z.string()), fallback: () => [], salvage: validEntries(z.string()) },
} satisfies Fields<AcceptedRevocations>;

export interface AcceptedRevocations {
  sequence: number | null;
  versions: string[];
  keys: string[];
  /** SPEC trust.md#sequence-floors: the root version that accepted the sequence. */
  root?: number;
}

/** SPEC trust.md#equivocation: the pointer accepted per channel. */
export const acceptedPointerSchema = z.object({
  sequence: count,
  /** sha256 of the accepted pointer's bytes; null when not known (older files, floors). */
  sha256: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
  /** The root version whose keys accepted it. */
  root: z.number().int().min(1),
});
export type AcceptedPointerEntry = z.infer<typeof acceptedPointerSchema>;

const countersFields = {
  updates: { schema: count, fallback: () => 0 },
  rollbacks: { schema: count, fallback: () => 0 },
  // Added after the first release: absent in older files, which is not damage.
  failedProbes: { schema: count.default(0), fallback: () => 0 },
} satisfies Fields<HostCounters>;

export interface HostCounters {
  updates: number;
  rollbacks: number;
  /** Failed probe attempts while probing a new version and during probation (tide_failed_probes_total). */
  failedProbes: number;
}

/** Salvage of an object field: each of its own fields read on its own. */
function subFields<T>(fields: Fields<T>): (raw: unknown) => T {
  return (raw) => {
    const source = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
    const value = {} as T;
    for (const name of Object.keys(fields) as (keyof T)[]) {
      const field = fields[name];
      const parsed = field.schema.safeParse(source[name as string]);
      value[name] = parsed.success ? parsed.data : field.salvage ? field.salvage(source[name as string]) : field.fallback();
    }
    return value;
  };
}

/** The whole object field, from the schemas of its own fields. */
function objectSchema<T>(fields: Fields<T>): z.ZodType<T> {
  const shape = Object.fromEntries(Object.entries(fields).map(([name, field]) => [name, (field as Fields<T>[keyof T]).schema]));
  return z.object(shape as Record<string, z.ZodType>) as unknown as z.ZodType<T>;
}

export interface HostStateFields {
  /** SPEC formats.md#sequence-and-expiry: the highest sequence accepted per channel; a lower one is refused. */
  sequences: Record<string, number>;
  /** SPEC trust.md#equivocation: per channel the accepted pointer's sequence, sha256 and root (sequences mirrors it for older tides). */
  acceptedPointers: Record<string, AcceptedPointerEntry>;
  /** The union of every accepted revocations list. */
  revocations: AcceptedRevocations;
  /** Versions that failed their health check here; skipped unless --force. */
  bad: string[];
  /** Every transaction, oldest first (the last 200). */
  history: HistoryEntry[];
  /** When the mirrors were last asked (ISO 8601). */
  lastCheck: string | null;
  /** The result of the last update run: up-to-date, committed, rolled-back, … */
  lastResult: string | null;
  /** When the last run succeeded (ISO 8601), for metrics. */
  lastSuccess: string | null;
  /** Per "<mirror> <path>": validators for cheap no-op checks, and the cached bytes they stand for. */
  conditional: Record<string, ConditionalCache>;
  /** When revocations.json was last asked for (ISO 8601); an unchanged pointer skips it for limits.revocationsRecheckMs. */
  revocationsChecked: string | null;
  /** Counters for metrics. */
  counters: HostCounters;
}

export const hostStateFields: Fields<HostStateFields> = {
  sequences: { schema: z.record(z.string(), count), fallback: () => ({}), salvage: validValues(count) },
  acceptedPointers: { schema: z.record(z.string(), acceptedPointerSchema), fallback: () => ({}), salvage: validValues(acceptedPointerSchema) },
  revocations: { schema: objectSchema(revocationsFields), fallback: () => ({ sequence: null, versions: [], keys: [] }), salvage: subFields(revocationsFields) },
  bad: { schema: z.array(version), fallback: () => [], salvage: validEntries(version) },
  history: { schema: z.array(historyEntrySchema), fallback: () => [], salvage: validEntries(historyEntrySchema) },
  lastCheck: { schema: timestamp.nullable(), fallback: () => null },
  lastResult: { schema: z.string().nullable(), fallback: () => null },
  lastSuccess: { schema: timestamp.nullable(), fallback: () => null },
  conditional: { schema: z.record(z.string(), conditionalEntrySchema), fallback: () => ({}), salvage: validValues(conditionalEntrySchema) },
  revocationsChecked: { schema: timestamp.nullable(), fallback: () => null },
  counters: { schema: objectSchema(countersFields), fallback: () => ({ updates: 0, rollbacks: 0, failedProbes: 0 }), salvage: subFields(countersFields) },
};
