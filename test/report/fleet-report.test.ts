// test-needs: network
// [report]: a POST after each transaction, retried with backoff, never failing the update.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { postReport, type FleetReport } from '../../src/report/fleet-report.js';
import type { LogEvent, Logger, LogLevel } from '../../src/log/logger.js';
import { createHostFixture } from '../helpers/host-fixture.js';
import { startReportServer } from './report-server.js';

const test = suite('fleet report');

function recordingLogger(): Logger & { events: { level: LogLevel; event: LogEvent }[] } {
  const events: { level: LogLevel; event: LogEvent }[] = [];
  return { events, log: (level, event) => events.push({ level, event }) };
}

const report: FleetReport = {
  schema: 1, app: 'demo', channel: 'stable', host: 'h1', machine: 'm1', command: 'update', result: 'committed',
  from: '1.0.0', to: '1.1.0', reason: 'healthy', exitCode: 0, durationMs: 1234, time: '2026-11-23T10:00:00.000Z',
  current: '1.1.0', previous: '1.0.0', bad: [],
};

test('retries an endpoint that fails twice and delivers on the third attempt', async () => {
  const server = await startReportServer([503, 500, 204]);
  try {
    const logger = recordingLogger();
    const started = Date.now();
    const delivered = await postReport(report, { url: server.url, timeoutMs: 2_000, retries: 3, logger, backoffMs: 100 });
    assert.is(delivered, true);
    assert.is(server.attempts(), 3);
    assert.equal(server.bodies.at(-1), report);
    // Backoff doubles: 100 ms, then 200 ms.
    assert.ok(Date.now() - started >= 300, `took ${Date.now() - started} ms`);
    assert.is(logger.events.filter((e) => e.level === 'warn').length, 2);
    assert.match(logger.events[0]!.event.message, /attempt 1 of 4.*HTTP 503/);
  } finally {
    await server.close();
  }
});

test('gives up after the configured retries on an endpoint that never answers', async () => {
  const server = await startReportServer(['hang']);
  try {
    const logger = recordingLogger();
    const started = Date.now();
    const delivered = await postReport(report, { url: server.url, timeoutMs: 200, retries: 2, logger, backoffMs: 50 });
    assert.is(delivered, false);
    assert.is(server.attempts(), 3);
    const took = Date.now() - started;
    assert.ok(took >= 3 * 200 && took < 5_000, `took ${took} ms`);
    assert.match(logger.events.at(-1)!.event.message, /no answer within 200 ms; giving up, the update itself is not affected/);
  } finally {
    await server.close();
  }
});

test('does not retry a refusal (4xx) and refuses a URL that is not http(s)', async () => {
  const server = await startReportServer([403, 204]);
  try {
    const logger = recordingLogger();
    assert.is(await postReport(report, { url: server.url, timeoutMs: 1_000, retries: 3, logger, backoffMs: 10 }), false);
    assert.is(server.attempts(), 1);
    assert.is(await postReport(report, { url: 'ftp://example.test/x', timeoutMs: 1_000, retries: 3, logger }), false);
    assert.match(logger.events.at(-1)!.event.message, /not an http\(s\) URL/);
  } finally {
    await server.close();
  }
});

test('tide update reports the transaction to an endpoint that fails twice, and exits 0', async () => {
  const server = await startReportServer([500, 502, 200]);
  const host = await createHostFixture({ extraConfig: `\n[report]\nurl = "${server.url}"\ntimeout = "2s"\nretries = 3\n` });
  try {
    await host.publish('1.0.0');
    const run = await host.tide(['update']);
    assert.is(run.code, 0, run.stderr);
    assert.is(server.attempts(), 3);
    const body = server.bodies.at(-1) as FleetReport;
    assert.equal([body.app, body.command, body.result, body.from, body.to, body.current, body.exitCode], ['demo', 'update', 'committed', null, '1.0.0', '1.0.0', 0]);
    assert.match(body.machine, /^[0-9a-f]{32}$/);
    assert.is.not(body.machine, 'test-machine');
    assert.match(run.stderr, /report to http:\/\/127\.0\.0\.1:\d+ failed \(attempt 1 of 4\): HTTP 500/);
    // Nothing happened: nothing to report.
    const noop = await host.tide(['update']);
    assert.is(noop.code, 0);
    assert.is(server.attempts(), 3);
  } finally {
    await host.cleanup();
    await server.close();
  }
});

test('an endpoint that never answers does not fail the update or the rollback exit code', async () => {
  const server = await startReportServer(['hang']);
  const host = await createHostFixture({ extraConfig: `\n[report]\nurl = "${server.url}"\ntimeout = "300ms"\nretries = 1\n` });
  try {
    await host.publish('1.0.0');
    const run = await host.tide(['update']);
    assert.is(run.code, 0, run.stderr);
    assert.is(server.attempts(), 2);
    assert.match(run.stderr, /giving up, the update itself is not affected/);
    assert.is(await host.serving(), 'demo 1.0.0');
    await host.publish('1.1.0', 'crash');
    const bad = await host.tide(['update']);
    assert.is(bad.code, 5, bad.stderr);
    assert.is((server.bodies.at(-1) as FleetReport).result, 'rolled-back');
  } finally {
    await host.cleanup();
    await server.close();
  }
});

test.run();
