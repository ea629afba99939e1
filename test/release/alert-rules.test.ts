// docs/prometheus-alerts.yml is valid for Prometheus (`promtool check rules`), and its alerts
// fire on the series tide writes (`promtool test rules`, with the metric names and labels of
// src/report/metrics.ts and src/release/status-metrics.ts).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/tmp.js';
import { renderStatusMetrics } from '../../src/release/status-metrics.js';
import type { ChannelStatusRow, StatusReport } from '../../src/release/mirror-status.js';

const test = suite('alert rules');
const rules = fileURLToPath(new URL('../../../docs/prometheus-alerts.yml', import.meta.url));

const promtool = (...args: string[]) => spawnSync('promtool', args, { encoding: 'utf8', timeout: 60_000 });

test('promtool check rules accepts the file', () => {
  const run = promtool('check', 'rules', rules);
  assert.is(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /SUCCESS: 8 rules found/);
});

test('the alerts fire on a rollback, a failed rollback and a mirror behind, and not on a healthy fleet', () => {
  const tmp = tempDir('tide-alerts-');
  try {
    const unit = join(tmp.path, 'tide-alerts.test.yml');
    writeFileSync(unit, `rule_files: [${JSON.stringify(rules)}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'tide_rollbacks_total{instance="web-1",app="demo"}'
        values: '0 0 0 1 1 1 1 1 1 1'
      - series: 'tide_rollbacks_total{instance="web-2",app="demo"}'
        values: '0x9'
      - series: 'tide_last_result{instance="web-1",app="demo",result="rollback-failed"}'
        values: '1x9'
      - series: 'tide_mirror_lag_sequences{app="demo",channel="stable",mirror="https://b.example/demo"}'
        values: '1x40'
      - series: 'tide_mirror_lag_sequences{app="demo",channel="stable",mirror="https://a.example/demo"}'
        values: '0x40'
    alert_rule_test:
      - eval_time: 5m
        alertname: TideRollback
        exp_alerts:
          - exp_labels: { severity: warning, instance: web-1, app: demo }
            exp_annotations:
              summary: "web-1 rolled demo back in the last hour"
              description: "A new version failed its health check there; tide release rollout halts a rollout on this (rollbacks>0)."
      - eval_time: 5m
        alertname: TideRollbackFailed
        exp_alerts:
          - exp_labels: { severity: critical, instance: web-1, app: demo, result: rollback-failed }
            exp_annotations:
              summary: "web-1: the rollback of demo failed; an operator is needed"
      - eval_time: 20m
        alertname: TideMirrorBehind
        exp_alerts: []
      - eval_time: 35m
        alertname: TideMirrorBehind
        exp_alerts:
          - exp_labels: { severity: warning, app: demo, channel: stable, mirror: "https://b.example/demo" }
            exp_annotations:
              summary: "mirror https://b.example/demo is 1 promotion(s) behind on demo/stable"
              description: "Publish to it again (tide release publish); hosts that use only this mirror stay behind."
`);
    const run = promtool('test', 'rules', unit);
    assert.is(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /SUCCESS/);
  } finally {
    tmp.cleanup();
  }
});

test('the mirror metrics tide release status writes are what the rules read, and promtool reads them', () => {
  const row = (mirror: string, lag: ChannelStatusRow['lag'], valid: boolean): ChannelStatusRow => ({
    mirror, channel: 'stable', version: '1.1.0', sequence: 4, pointerSha256: null, valid, signers: [], expires: '2027-01-01T00:00:00Z',
    published: '2026-12-01T00:00:00Z', lag, expiresInMs: 0, expired: false, sync: 'yes', syncText: 'yes', problem: valid ? null : { code: 'signature', message: 'x' },
  });
  const report: StatusReport = { app: 'demo', rows: [row('https://a.example/demo', { sequences: 0, ms: 0 }, true), row('https://b.example/"x"', { sequences: 2, ms: 7_200_000 }, true), row('https://c.example/demo', null, false)], allInSync: false, exitCode: 1, rootVersion: 1, notes: [] };
  const text = renderStatusMetrics(report, new Date('2026-12-02T00:00:00Z'));
  assert.match(text, /^tide_mirror_lag_sequences\{app="demo",channel="stable",mirror="https:\/\/b\.example\/\\"x\\""\} 2$/m);
  assert.match(text, /^tide_mirror_lag_seconds\{app="demo",channel="stable",mirror="https:\/\/b\.example\/\\"x\\""\} 7200$/m);
  assert.match(text, /^tide_mirror_pointer_valid\{app="demo",channel="stable",mirror="https:\/\/c\.example\/demo"\} 0$/m);
  assert.not.match(text, /tide_mirror_lag_sequences\{[^}]*c\.example/);
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.is(run.status, 0, run.stdout + run.stderr);
});

test.run();
