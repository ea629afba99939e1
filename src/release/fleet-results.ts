// What the fleet says about each version, from a directory of the report webhook's
// JSON documents (src/report/fleet-report.ts: one POST body per file, as the endpoint
// stores them). The rollout controller judges a step by it; `tide release status --html`
// shows it. Reading is defensive: a file that is not a report is skipped and counted.
import { closeSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { TideError } from '../errors.js';
import { limits } from '../limits.js';
import type { MetricValues } from './halt-expression.js';

/** The fields of a fleet report the controller reads; the rest is ignored. */
const fleetReportSchema = z.object({
  schema: z.literal(1),
  app: z.string(),
  channel: z.string(),
  machine: z.string().min(1),
  command: z.string(),
  result: z.string(),
  from: z.string().nullable(),
  to: z.string().nullable(),
  reason: z.string().default(''),
  time: z.string().refine((t) => !Number.isNaN(Date.parse(t)), 'an ISO 8601 time'),
  current: z.string().nullable().default(null),
});
export type ReadReport = z.infer<typeof fleetReportSchema>;

export interface VersionResults {
  version: string;
  /** Updates to this version that committed. */
  commits: number;
  /** Transactions that turned away from this version: rolled back, or failed to (its update, or an operator's tide rollback). */
  rollbacks: number;
  /** Rollbacks by a host that had committed this version before (during probation, or by an operator). */
  lateRollbacks: number;
  /** Rollbacks that failed: an operator is needed on that host. */
  failures: number;
  /** Every report about this version. */
  reports: number;
  /** Distinct hosts that reported about it. */
  hosts: number;
  /** The newest few reasons of rollbacks, newest first. */
  lastReasons: { time: string; host: string; reason: string }[];
}

export interface FleetResults {
  /** Per version, for one app and channel. */
  versions: Map<string, VersionResults>;
  /** Files that were not readable reports (skipped). */
  skipped: number;
  /** Reports read for this app and channel. */
  read: number;
}

const rollbackResults = new Set(['rolled-back', 'rollback-failed']);

/**
 * The version a rollback turned away from: an update's (or verify's, or probation's) `to`,
 * the version that failed; for `tide rollback` by an operator, `from`, the version left.
 */
const versionLeft = (report: ReadReport): string | null => (report.command === 'rollback' ? report.from : report.to);
const keptReasons = 5;

function readSmallFile(path: string): string | undefined {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(limits.maxFleetReportBytes + 1);
    const length = readSync(fd, buffer, 0, buffer.length, 0);
    return length > limits.maxFleetReportBytes ? undefined : buffer.subarray(0, length).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Every report in `dir` (*.json) for this app and channel (any channel when undefined), oldest first. */
export function readReports(dir: string, app: string, channel: string | undefined): { reports: ReadReport[]; skipped: number } {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    names = readdirSync(dir).filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort();
  } catch (err) {
    throw new TideError('usage', `cannot read the reports directory: ${(err as Error).message}`, { file: dir });
  }
  const reports: ReadReport[] = [];
  let skipped = 0;
  for (const name of names.slice(-limits.maxFleetReportFiles)) {
    let parsed: ReturnType<typeof fleetReportSchema.safeParse> | undefined;
    try {
      const text = readSmallFile(join(dir, name));
      parsed = text === undefined ? undefined : fleetReportSchema.safeParse(JSON.parse(text));
    } catch {
      parsed = undefined;
    }
    if (!parsed?.success) {
      skipped += 1;
      continue;
    }
    if (parsed.data.app === app && (channel === undefined || parsed.data.channel === channel)) reports.push(parsed.data);
  }
  reports.sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  return { reports, skipped };
}

const emptyResults = (version: string): VersionResults => ({ version, commits: 0, rollbacks: 0, lateRollbacks: 0, failures: 0, reports: 0, hosts: 0, lastReasons: [] });

/** Tally reports (oldest first) per version. Pure. */
export function tallyResults(reports: readonly ReadReport[]): Map<string, VersionResults> {
  const versions = new Map<string, VersionResults>();
  const hosts = new Map<string, Set<string>>();
  const committed = new Set<string>();
  const at = (version: string) => {
    if (!versions.has(version)) {
      versions.set(version, emptyResults(version));
      hosts.set(version, new Set());
    }
    return versions.get(version)!;
  };
  for (const report of reports) {
    const about = new Set([report.to, report.from].filter((v): v is string => v !== null));
    for (const version of about) {
      const results = at(version);
      results.reports += 1;
      hosts.get(version)!.add(report.machine);
      if (report.result === 'committed' && report.to === version) {
        results.commits += 1;
        committed.add(`${report.machine}\n${version}`);
      }
      if (rollbackResults.has(report.result) && versionLeft(report) === version) {
        results.rollbacks += 1;
        if (report.result === 'rollback-failed') results.failures += 1;
        if (committed.has(`${report.machine}\n${version}`)) results.lateRollbacks += 1;
        results.lastReasons = [{ time: report.time, host: report.machine, reason: report.reason }, ...results.lastReasons].slice(0, keptReasons);
      }
    }
  }
  for (const [version, seen] of hosts) versions.get(version)!.hosts = seen.size;
  return versions;
}

export function readFleetResults(dir: string, app: string, channel: string | undefined): FleetResults {
  const { reports, skipped } = readReports(dir, app, channel);
  return { versions: tallyResults(reports), skipped, read: reports.length };
}

/**
 * The --halt-on metrics of one version. `success` is commits over commits and rollbacks;
 * 1 while nothing was tried (no evidence of harm: --min-reports keeps such a step waiting).
 */
export function metricValues(results: VersionResults | undefined): MetricValues {
  const r = results ?? emptyResults('');
  const tried = r.commits + r.rollbacks;
  return {
    rollbacks: r.rollbacks, late_rollbacks: r.lateRollbacks, commits: r.commits, failures: r.failures,
    reports: r.reports, hosts: r.hosts, success: tried === 0 ? 1 : r.commits / tried,
  };
}
