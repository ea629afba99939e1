// test-needs: network
// [metrics] textfile: Prometheus text written atomically after every run, parsed back.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { renderMetrics } from '../../src/report/metrics.js';
import { createHostFixture } from '../helpers/host-fixture.js';
import { parseMetrics } from './parse-metrics.js';

const test = suite('metrics textfile');

test('renders every metric with HELP and TYPE, escaping label values', () => {
  const text = renderMetrics({
    app: 'demo', current: '1.2.0-rc"1', lastCheck: '2026-11-23T10:00:00.500Z', lastSuccess: null,
    lastResult: 'rolled-back', updates: 3, rollbacks: 1, failedProbes: 7, pending: true, bad: 2,
  });
  const metrics = parseMetrics(text);
  assert.is(metrics.get('tide_current_version_info{app="demo",version="1.2.0-rc\\"1"}'), 1);
  assert.is(metrics.get('tide_last_check_timestamp_seconds{app="demo"}'), Date.parse('2026-11-23T10:00:00Z') / 1000);
  assert.is(metrics.get('tide_last_success_timestamp_seconds{app="demo"}'), 0);
  assert.is(metrics.get('tide_last_result{app="demo",result="rolled-back"}'), 1);
  assert.is(metrics.get('tide_updates_total{app="demo"}'), 3);
  assert.is(metrics.get('tide_rollbacks_total{app="demo"}'), 1);
  assert.is(metrics.get('tide_pending{app="demo"}'), 1);
  assert.is(metrics.get('tide_bad_versions{app="demo"}'), 2);
  assert.is(metrics.get('tide_failed_probes_total{app="demo"}'), 7, 'a count with no probe or reason label');
  assert.match(text, /# TYPE tide_updates_total counter\n/);
  // Before the first install there is no version to name.
  const empty = parseMetrics(renderMetrics({ app: 'demo', current: null, lastCheck: null, lastSuccess: null, lastResult: null, updates: 0, rollbacks: 0, failedProbes: 0, pending: false, bad: 0 }));
  assert.not.ok([...empty.keys()].some((k) => k.startsWith('tide_current_version_info')));
  assert.is(empty.get('tide_last_result{app="demo",result="none"}'), 1);
});

test('update, a rolled-back update, and check each rewrite the file', async () => {
  const host = await createHostFixture({ extraConfig: '\n[metrics]\ntextfile = "node-exporter/tide.prom"\n' });
  const file = join(host.dir, 'node-exporter', 'tide.prom');
  const read = () => parseMetrics(readFileSync(file, 'utf8'));
  try {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(host.dir, 'node-exporter'));
    await host.publish('1.0.0');
    assert.is((await host.tide(['update'])).code, 0);
    let metrics = read();
    assert.is(metrics.get('tide_current_version_info{app="demo",version="1.0.0"}'), 1);
    assert.is(metrics.get('tide_updates_total{app="demo"}'), 1);
    assert.is(metrics.get('tide_last_result{app="demo",result="committed"}'), 1);
    const successAt = metrics.get('tide_last_success_timestamp_seconds{app="demo"}')!;
    assert.ok(Math.abs(successAt - Date.now() / 1000) < 60, `last success ${successAt}`);

    await host.publish('1.1.0', 'crash');
    assert.is((await host.tide(['update'])).code, 5);
    metrics = read();
    assert.is(metrics.get('tide_current_version_info{app="demo",version="1.0.0"}'), 1);
    assert.is(metrics.get('tide_rollbacks_total{app="demo"}'), 1);
    assert.is(metrics.get('tide_last_result{app="demo",result="rolled-back"}'), 1);
    assert.is(metrics.get('tide_bad_versions{app="demo"}'), 1);
    assert.ok(metrics.get('tide_failed_probes_total{app="demo"}')! > 0, 'the failed probes of the crashing version are counted');
    assert.is(metrics.get('tide_pending{app="demo"}'), 0);
    assert.is(metrics.get('tide_last_success_timestamp_seconds{app="demo"}'), successAt, 'a rollback is not a success');

    // A refused check still counts as a check.
    const before = metrics.get('tide_last_check_timestamp_seconds{app="demo"}')!;
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.is((await host.tide(['check'])).code, 0);
    assert.ok(read().get('tide_last_check_timestamp_seconds{app="demo"}')! > before);
    // Atomic: no temp file is left next to it.
    assert.equal(readdirSync(join(host.dir, 'node-exporter')), ['tide.prom']);
  } finally {
    await host.cleanup();
  }
});

test('a textfile that cannot be written is a warning, not a failed update', async () => {
  const host = await createHostFixture({ extraConfig: '\n[metrics]\ntextfile = "/nonexistent-dir/tide.prom"\n' });
  try {
    await host.publish('1.0.0');
    const run = await host.tide(['update']);
    assert.is(run.code, 0, run.stderr);
    assert.match(run.stderr, /could not write the metrics textfile/);
    assert.not.ok(existsSync('/nonexistent-dir/tide.prom'));
    assert.is(await host.serving(), 'demo 1.0.0');
  } finally {
    await host.cleanup();
  }
});

test.run();
