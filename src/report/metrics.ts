// `[metrics] textfile = PATH`: Prometheus textfile-collector metrics (node_exporter
// --collector.textfile.directory), rewritten atomically after every run so the
// collector never reads half a file. Everything comes from state.json and the
// links on disk, so the file tells the truth whichever command wrote it last.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Config } from '../config/load-config.js';
import type { Logger } from '../log/logger.js';
import { writeFileAtomic } from '../store/atomic.js';
import { readHostState } from '../store/host-state.js';
import { layoutFor } from '../store/layout.js';
import { readVersionLink } from '../store/version-links.js';
import { readContainerRecord, type ReconcileCounters } from '../containers/container-record.js';

export interface MetricsSnapshot {
  app: string;
  /** The version `current` points at; null before the first install. */
  current: string | null;
  lastCheck: string | null;
  lastSuccess: string | null;
  lastResult: string | null;
  updates: number;
  rollbacks: number;
  failedProbes: number;
  pending: boolean;
  bad: number;
  /** SPEC containers.md#the-reconciler: from containers.json; absent in snapshots of hosts without containers. */
  reconcile?: ReconcileCounters;
  /** The versions that failed their health check here (state.json's bad list). */
  badVersions?: string[];
}

export function readMetricsSnapshot(config: Config): MetricsSnapshot {
  const layout = layoutFor(config.state_dir);
  const state = readHostState(layout);
  return {
    app: config.app,
    current: readVersionLink(layout.current),
    lastCheck: state.lastCheck,
    lastSuccess: state.lastSuccess,
    lastResult: state.lastResult,
    updates: state.counters.updates,
    rollbacks: state.counters.rollbacks,
    failedProbes: state.counters.failedProbes,
    pending: existsSync(layout.pending),
    bad: state.bad.length,
    ...(config.container.length > 0 && { reconcile: readContainerRecord(layout).reconcile }),
    badVersions: [...state.bad],
  };
}

// Prometheus text format: label values escape backslash, double quote and newline.
const labelValue = (value: string): string => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
const labels = (pairs: Record<string, string>): string => `{${Object.entries(pairs).map(([k, v]) => `${k}=${labelValue(v)}`).join(',')}}`;
// Never = 0, so `time() - tide_last_success_timestamp_seconds > 7200` also fires for a host that never succeeded.
const seconds = (iso: string | null): number => (iso === null ? 0 : Math.floor(Date.parse(iso) / 1000));

interface Metric {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  samples: { labels: Record<string, string>; value: number }[];
}

export function renderMetrics(snapshot: MetricsSnapshot): string {
  const app = { app: snapshot.app };
  const metrics: Metric[] = [
    { name: 'tide_current_version_info', type: 'gauge', help: 'The version the app runs now (tide\'s current link); absent before the first install.',
      samples: snapshot.current === null ? [] : [{ labels: { ...app, version: snapshot.current }, value: 1 }] },
    { name: 'tide_last_check_timestamp_seconds', type: 'gauge', help: 'When tide last asked the mirrors (0: never).',
      samples: [{ labels: app, value: seconds(snapshot.lastCheck) }] },
    { name: 'tide_last_success_timestamp_seconds', type: 'gauge', help: 'When an update run last ended well: up to date or committed (0: never).',
      samples: [{ labels: app, value: seconds(snapshot.lastSuccess) }] },
    { name: 'tide_last_result', type: 'gauge', help: 'The result of the last update run (committed, up-to-date, rolled-back, an error code, …).',
      samples: [{ labels: { ...app, result: snapshot.lastResult ?? 'none' }, value: 1 }] },
    { name: 'tide_updates_total', type: 'counter', help: 'Updates committed on this host.', samples: [{ labels: app, value: snapshot.updates }] },
    { name: 'tide_rollbacks_total', type: 'counter', help: 'Updates rolled back on this host (automatic, or failed rollbacks).', samples: [{ labels: app, value: snapshot.rollbacks }] },
    // No probe or reason label: a label per failure text would explode the series; the reason is in the history.
    { name: 'tide_failed_probes_total', type: 'counter', help: 'Failed probe attempts while probing new versions and during probation (the last reason: tide history).',
      samples: [{ labels: app, value: snapshot.failedProbes }] },
    { name: 'tide_pending', type: 'gauge', help: '1 while an update is unsettled (a pending marker exists).', samples: [{ labels: app, value: snapshot.pending ? 1 : 0 }] },
    { name: 'tide_bad_versions', type: 'gauge', help: 'Versions that failed their health check here and are skipped.', samples: [{ labels: app, value: snapshot.bad }] },
    // `tide release rollout --prometheus` counts a version's rollbacks across the fleet from this.
    { name: 'tide_bad_version_info', type: 'gauge', help: 'One sample per version that failed its health check here (rolled back).',
      samples: (snapshot.badVersions ?? []).map((version) => ({ labels: { ...app, version }, value: 1 })) },
  ];
  if (snapshot.reconcile) {
    const r = snapshot.reconcile;
    metrics.push(
      { name: 'tide_reconcile_runs_total', type: 'counter', help: 'Reconciler passes that ran (not skipped because an update held the lock).', samples: [{ labels: app, value: r.runs }] },
      { name: 'tide_reconcile_recreated_total', type: 'counter', help: 'Containers the reconciler recreated (vanished, stopped or on another image).', samples: [{ labels: app, value: r.recreated }] },
      { name: 'tide_reconcile_failures_total', type: 'counter', help: 'Stages the reconciler could not put back.', samples: [{ labels: app, value: r.failures }] },
      { name: 'tide_reconcile_last_timestamp_seconds', type: 'gauge', help: 'When the reconciler last ran (0: never).', samples: [{ labels: app, value: seconds(r.last) }] },
    );
  }
  const lines: string[] = [];
  for (const metric of metrics) {
    lines.push(`# HELP ${metric.name} ${metric.help}`, `# TYPE ${metric.name} ${metric.type}`);
    for (const sample of metric.samples) lines.push(`${metric.name}${labels(sample.labels)} ${sample.value}`);
  }
  return lines.join('\n') + '\n';
}

/** Write the textfile when the config asks for one. A failure is logged, never fatal: metrics must not fail an update. */
export function writeRunMetrics(config: Config, logger: Logger): void {
  if (!config.metrics.textfile) return;
  // Like the key files: a relative path is taken from the config's folder.
  const path = resolve(dirname(config.configPath), config.metrics.textfile);
  try {
    writeFileAtomic(path, renderMetrics(readMetricsSnapshot(config)));
  } catch (err) {
    logger.log('warn', { event: 'metrics', message: `could not write the metrics textfile: ${(err as Error).message}`, file: path });
  }
}
