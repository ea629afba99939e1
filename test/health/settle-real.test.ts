// test-needs: network
// settleHealth in real time against real servers and processes on 127.0.0.1.
import { spawn } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ProbeSpec } from '../../src/config/schema.js';
import { createProber } from '../../src/health/probes.js';
import { settleHealth } from '../../src/health/settle-health.js';
import { closedPort, startHangingServer, startHttp } from './test-servers.js';

const attempt = createProber();
const http = (url: string): ProbeSpec => ({ type: 'http', url, expect: 200, insecure: false });

test('healthy after stable when the service answers 200', async () => {
  const server = await startHttp((_req, res) => res.end('ok'));
  try {
    const verdict = await settleHealth([http(server.url)], { timeout: 5_000, start: 5_000, interval: 100, stable: 500 }, { attempt });
    assert.is(verdict.healthy, true, verdict.reason);
    assert.ok(verdict.elapsedMs >= 500 && verdict.elapsedMs < 2_500, `${verdict.elapsedMs}ms`);
  } finally {
    await server.close();
  }
});

test('a service answering 500 is unhealthy at the timeout with the reason', async () => {
  const server = await startHttp((_req, res) => ((res.statusCode = 500), res.end()));
  try {
    const verdict = await settleHealth([http(server.url)], { timeout: 1_200, start: 1_200, interval: 200, stable: 500 }, { attempt });
    assert.is(verdict.healthy, false);
    assert.ok(verdict.elapsedMs >= 1_200 && verdict.elapsedMs < 3_000, `${verdict.elapsedMs}ms`);
    assert.is(verdict.reason, `http ${server.url} answered 500, expected 200 (not healthy within 1.2s)`);
  } finally {
    await server.close();
  }
});

test('a server that accepts and never answers is unhealthy', async () => {
  const server = await startHangingServer();
  try {
    const verdict = await settleHealth([http(server.url)], { timeout: 1_500, start: 1_500, interval: 200, stable: 500 }, { attempt });
    assert.is(verdict.healthy, false);
    assert.ok(verdict.elapsedMs < 4_000, `${verdict.elapsedMs}ms`);
    assert.is(verdict.reason, `http ${server.url} gave no answer within 1.0s (not healthy within 1.5s)`);
  } finally {
    await server.close();
  }
});

test('a service that answers once and then closes its port fails fast', async () => {
  let answered = 0;
  const server = await startHttp((_req, res) => {
    answered += 1;
    res.end('ok');
    void server.close();
  });
  const timeout = 20_000;
  const verdict = await settleHealth([http(server.url)], { timeout, start: timeout, interval: 200, stable: 10_000 }, { attempt });
  assert.is(answered, 1);
  assert.is(verdict.healthy, false);
  assert.ok(verdict.elapsedMs < timeout / 2, `${verdict.elapsedMs}ms`);
  assert.is(verdict.reason, `http ${server.url} refused the connection 3 times in a row after it had answered (the service is gone)`);
});

test('a probe that never passes by start is unhealthy well before the timeout', async () => {
  const port = await closedPort();
  const verdict = await settleHealth([{ type: 'tcp', host: '127.0.0.1', port }], { timeout: 20_000, start: 600, interval: 200, stable: 500 }, { attempt });
  assert.is(verdict.healthy, false);
  assert.ok(verdict.elapsedMs >= 600 && verdict.elapsedMs < 3_000, `${verdict.elapsedMs}ms`);
  assert.is(verdict.reason, `tcp 127.0.0.1:${port} refused the connection (had not passed once by start 600ms)`);
});

test('tcp and command probes together: healthy with true, unhealthy with false', async () => {
  const server = await startHttp((_req, res) => res.end());
  const timing = { timeout: 1_500, start: 1_500, interval: 100, stable: 300 };
  try {
    const tcp: ProbeSpec = { type: 'tcp', host: '127.0.0.1', port: server.port };
    const good = await settleHealth([tcp, { type: 'command', argv: ['true'] }], timing, { attempt });
    assert.is(good.healthy, true, good.reason);
    const bad = await settleHealth([tcp, { type: 'command', argv: ['false'] }], timing, { attempt });
    assert.is(bad.healthy, false);
    assert.is(bad.reason, 'command false exited 1 (not healthy within 1.5s)');
    assert.ok(bad.elapsedMs >= 1_500, `${bad.elapsedMs}ms`);
  } finally {
    await server.close();
  }
});

test('a flapping service never becomes stable', async () => {
  let requests = 0;
  const server = await startHttp((_req, res) => ((res.statusCode = ++requests % 2 ? 200 : 500), res.end()));
  const seen: boolean[] = [];
  try {
    const verdict = await settleHealth([http(server.url)], { timeout: 1_500, start: 1_500, interval: 100, stable: 400 }, {
      attempt,
      onAttempt: (_probe, result) => seen.push(result.ok),
    });
    assert.is(verdict.healthy, false);
    assert.match(verdict.reason, /answered 500, expected 200/);
    assert.ok(seen.includes(true) && seen.includes(false), 'it passed and failed');
  } finally {
    await server.close();
  }
});

test('a service process that dies at start fails fast through the service-gone hook', async () => {
  const port = await closedPort();
  const service = spawn('sh', ['-c', 'sleep 0.3; exit 1'], { stdio: 'ignore' });
  const isServiceGone = (): string | false => (service.exitCode !== null ? `the service exited ${service.exitCode}` : false);
  const verdict = await settleHealth([http(`http://127.0.0.1:${port}/`)], { timeout: 20_000, start: 20_000, interval: 200, stable: 1_000 }, {
    attempt,
    isServiceGone,
  });
  assert.is(verdict.healthy, false);
  assert.ok(verdict.elapsedMs < 3_000, `${verdict.elapsedMs}ms`);
  assert.is(verdict.reason, `the service exited 1; http http://127.0.0.1:${port}/ refused the connection`);
});

test.run();
