// `tide release status --html FILE`: one self-contained page (inline CSS, no script, no
// outside reference) that shows the fleet as the release engineer's side sees it: the
// mirrors and their lag, each channel's rollout (step, fallback, halt, history) and the
// fleet's results per version. Pure: data in, HTML out.
import type { ChannelPointer } from '../documents/schemas.js';
import type { VersionResults } from './fleet-results.js';
import type { StatusReport } from './mirror-status.js';
import type { RolloutState } from './rollout-state.js';
import { formatExpiresIn, formatLag } from './status-table.js';

export interface ChannelPicture {
  channel: string;
  /** The tree's pointer for the channel, if the tree has one. */
  pointer: ChannelPointer | undefined;
  state: RolloutState;
}

export interface StatusPage {
  app: string;
  now: Date;
  report: StatusReport;
  channels: ChannelPicture[];
  /** Per version, newest first; empty without --reports. */
  results: VersionResults[];
}

const escapeHtml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

function table(headings: readonly string[], rows: readonly (readonly string[])[], rowClass: (i: number) => string = () => ''): string {
  const head = headings.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((r, i) => `<tr class="${rowClass(i)}">${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function mirrorsSection(report: StatusReport): string {
  const rows = report.rows.map((r) => [
    r.mirror, r.channel, r.version ?? '-', r.sequence === null ? '-' : String(r.sequence), r.valid ? 'valid' : `no (${r.problem?.code ?? r.sync})`,
    formatExpiresIn(r.expiresInMs), r.syncText, formatLag(r.lag), r.problem?.message ?? '',
  ]);
  const verdict = report.allInSync ? '<p class="ok">All mirrors in sync.</p>' : '<p class="bad">Mirrors NOT in sync.</p>';
  return `<section id="mirrors"><h2>Mirrors</h2>${verdict}
${table(['Mirror', 'Channel', 'Version', 'Seq', 'Signature', 'Expires in', 'In sync', 'Lag', 'Problem'], rows, (i) => (report.rows[i]!.sync === 'yes' ? '' : 'warn'))}</section>`;
}

function rolloutLine(c: ChannelPicture): string {
  const p = c.pointer;
  if (!p) return '<p>No pointer in the release tree.</p>';
  const halted = c.state.halted && c.state.halted.sequence === p.sequence ? c.state.halted : null;
  if (halted) {
    return `<p class="bad halt">HALTED: the rollout of ${escapeHtml(halted.version)} stopped at ${halted.percent}% on ${escapeHtml(halted.time)}. ${escapeHtml(halted.reason)}</p>
<p>The channel names ${escapeHtml(p.version)} (sequence ${p.sequence}) for every host.</p>`;
  }
  const percent = Math.min(p.rollout?.percent ?? 100, 100);
  const fallback = p.fallback ? `; hosts outside it install the fallback ${escapeHtml(p.fallback.version)}` : '';
  return percent >= 100
    ? `<p class="ok">${escapeHtml(p.version)} is out to every host (sequence ${p.sequence}).</p>`
    : `<p class="step">Rolling out ${escapeHtml(p.version)}: step ${percent}% (sequence ${p.sequence}, since ${escapeHtml(p.published)})${fallback}.</p>`;
}

function channelsSection(channels: readonly ChannelPicture[]): string {
  const parts = channels.map((c) => {
    const history = [...c.state.history].reverse().map((e) => [e.time, e.action, e.version, `${e.percent}%`, String(e.sequence), e.reason]);
    const historyTable = history.length ? table(['Time', 'Action', 'Version', 'Percent', 'Seq', 'Why'], history) : '<p>No rollout history.</p>';
    return `<article class="channel"><h3>Channel ${escapeHtml(c.channel)}</h3>${rolloutLine(c)}${historyTable}</article>`;
  });
  return `<section id="channels"><h2>Rollouts</h2>${parts.join('\n') || '<p>No channel.</p>'}</section>`;
}

function resultsSection(results: readonly VersionResults[]): string {
  if (results.length === 0) return '<section id="results"><h2>Fleet results</h2><p>No reports (give --reports DIR).</p></section>';
  const rows = results.map((r) => [
    r.version, String(r.commits), String(r.rollbacks), String(r.lateRollbacks), String(r.failures), String(r.hosts),
    r.lastReasons.map((x) => `${x.time} ${x.host}: ${x.reason}`).join(' | '),
  ]);
  return `<section id="results"><h2>Fleet results</h2>
${table(['Version', 'Commits', 'Rollbacks', 'Late rollbacks', 'Failed rollbacks', 'Hosts', 'Last reasons'], rows, (i) => (results[i]!.rollbacks > 0 ? 'warn' : ''))}</section>`;
}

const style = `body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}h1{font-size:1.5em}
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f0f0f0}tr.warn td{background:#fff4e0}.ok{color:#1a7f37}.bad{color:#b42318;font-weight:bold}.halt{font-size:1.2em}`;

export function renderStatusPage(page: StatusPage): string {
  const title = `tide: ${page.app}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>${style}</style></head>
<body><h1>${escapeHtml(title)}</h1><p>Generated ${escapeHtml(page.now.toISOString())}; root ${page.report.rootVersion}.</p>
${mirrorsSection(page.report)}
${channelsSection(page.channels)}
${resultsSection(page.results)}
</body></html>
`;
}
