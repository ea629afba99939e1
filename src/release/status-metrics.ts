// `tide release status --metrics FILE`: the mirrors' state as Prometheus textfile metrics
// (node_exporter's textfile collector on the machine that runs the check from cron), so
// docs/prometheus-alerts.yml can page on a stale or broken mirror. Written atomically.
import { writeFileAtomic } from '../store/atomic.js';
import type { StatusReport } from './mirror-status.js';

const labelValue = (value: string): string => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

export function renderStatusMetrics(report: StatusReport, now: Date): string {
  const lines: string[] = [];
  const metric = (name: string, help: string, samples: [Record<string, string>, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [labels, value] of samples) {
      lines.push(`${name}{${Object.entries(labels).map(([k, v]) => `${k}=${labelValue(v)}`).join(',')}} ${value}`);
    }
  };
  const rowLabels = (r: StatusReport['rows'][number]) => ({ app: report.app, channel: r.channel, mirror: r.mirror });
  metric('tide_mirror_pointer_valid', '1 when the mirror serves a pointer a host would accept (signature, expiry, revocations).',
    report.rows.map((r) => [rowLabels(r), r.valid && !r.expired && r.problem === null ? 1 : 0]));
  metric('tide_mirror_lag_sequences', 'How many promotions the mirror is behind the channel\'s best valid pointer (absent when not valid).',
    report.rows.filter((r) => r.lag !== null).map((r) => [rowLabels(r), r.lag!.sequences]));
  metric('tide_mirror_lag_seconds', 'How much older the mirror\'s pointer is than the best one, by promotion time.',
    report.rows.filter((r) => r.lag !== null).map((r) => [rowLabels(r), Math.floor(r.lag!.ms / 1000)]));
  metric('tide_mirror_pointer_expires_timestamp_seconds', 'When the mirror\'s pointer expires.',
    report.rows.filter((r) => r.expires !== null).map((r) => [rowLabels(r), Math.floor(Date.parse(r.expires!) / 1000)]));
  metric('tide_mirror_check_timestamp_seconds', 'When tide release status last checked the mirrors.', [[{ app: report.app }, Math.floor(now.getTime() / 1000)]]);
  return lines.join('\n') + '\n';
}

export function writeStatusMetrics(file: string, report: StatusReport, now = new Date()): void {
  writeFileAtomic(file, renderStatusMetrics(report, now));
}
