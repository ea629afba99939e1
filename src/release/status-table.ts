// The text form of `tide release status`: one row per mirror and channel, then
// one line per problem saying what was wrong and where. Pure: rows in, lines out.
import type { ChannelStatusRow, StatusReport } from './mirror-status.js';
import { alignedTable } from '../cli/aligned-table.js';

const headings = ['MIRROR', 'CHANNEL', 'VERSION', 'SEQ', 'SIGNATURE', 'EXPIRES IN', 'IN SYNC', 'LAG'] as const;

/** Whole units, rounded down: a pointer with 29.9 days left has 29 full days ("29d"). */
function wholeUnits(ms: number): string {
  const units: [number, string][] = [[86_400_000, 'd'], [3_600_000, 'h'], [60_000, 'm'], [1000, 's']];
  for (const [size, unit] of units) if (ms >= 2 * size) return `${Math.floor(ms / size)}${unit}`;
  return `${Math.floor(ms / 1000)}s`;
}

/** How far a mirror is behind the channel's best pointer: "-" (not valid), "0", or "2 seq, 3h". */
export function formatLag(lag: ChannelStatusRow['lag']): string {
  if (lag === null) return '-';
  return lag.sequences === 0 ? '0' : `${lag.sequences} seq, ${wholeUnits(lag.ms)}`;
}

/** "29d", "5h", or "expired 2h ago". */
export function formatExpiresIn(ms: number | null): string {
  if (ms === null) return '-';
  return ms > 0 ? wholeUnits(ms) : `expired ${wholeUnits(-ms)} ago`;
}

function signatureCell(row: ChannelStatusRow): string {
  if (row.valid) return 'valid';
  if (row.sync === 'missing' || row.sync === 'unreachable') return '-';
  return `no (${row.problem?.code ?? 'invalid'})`;
}

function cells(row: ChannelStatusRow): string[] {
  return [
    row.mirror,
    row.channel,
    row.version ?? '-',
    row.sequence === null ? '-' : String(row.sequence),
    signatureCell(row),
    formatExpiresIn(row.expiresInMs),
    row.syncText,
    formatLag(row.lag),
  ];
}

export function renderStatusTable(report: StatusReport): string[] {
  const lines = alignedTable(headings, report.rows.map(cells));
  const problems = report.rows.filter((r) => r.problem !== null);
  if (problems.length > 0) {
    lines.push('');
    for (const row of problems) lines.push(`${row.mirror} ${row.channel}: ${row.problem!.code}: ${row.problem!.message}`);
  }
  if (report.notes.length > 0) lines.push('', ...report.notes);
  if (report.rootVersion > 1) lines.push('', `checked with root ${report.rootVersion} (keys/root.${report.rootVersion}.json, walked from the given keys)`);
  lines.push('', report.allInSync ? 'all mirrors in sync' : 'mirrors NOT in sync');
  return lines;
}
