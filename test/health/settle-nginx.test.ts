// test-needs: nginx
// Through a real nginx, as on an operator's host: a dead backend answers 502.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ProbeSpec } from '../../src/config/schema.js';
import { createProber } from '../../src/health/probes.js';
import { settleHealth } from '../../src/health/settle-health.js';
import { startNginxProxy } from '../helpers/nginx-proxy.js';
import { closedPort } from './test-servers.js';

const attempt = createProber();
const http = (url: string): ProbeSpec => ({ type: 'http', url, expect: 200, insecure: false });

const backendScript = `require('http').createServer((q, s) => s.end('ok'))
  .listen(0, '127.0.0.1', function () { console.log(this.address().port); });`;

/** A Node backend in its own process, so the test can kill it like a crash. */
async function startBackend(): Promise<{ port: number; process: ChildProcess }> {
  const child = spawn(process.execPath, ['-e', backendScript], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return { port: Number(line.toString().trim()), process: child };
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

test('healthy through nginx while the backend answers', async () => {
  const backend = await startBackend();
  const nginx = await startNginxProxy(backend.port);
  try {
    const verdict = await settleHealth([http(nginx.url)], { timeout: 5_000, start: 5_000, interval: 100, stable: 300 }, { attempt });
    assert.is(verdict.healthy, true, verdict.reason);
  } finally {
    await nginx.stop();
    await kill(backend.process);
  }
});

test('a killed backend behind nginx answers 502 and fails fast', async () => {
  const backend = await startBackend();
  const nginx = await startNginxProxy(backend.port);
  const timeout = 30_000;
  try {
    const verdict = await settleHealth([http(nginx.url)], { timeout, start: timeout, interval: 200, stable: 60_000 }, {
      attempt,
      onAttempt: (_probe, result) => {
        if (result.ok) void kill(backend.process);
      },
    });
    assert.is(verdict.healthy, false);
    assert.ok(verdict.elapsedMs < timeout / 2, `${verdict.elapsedMs}ms`);
    assert.is(verdict.reason, `http ${nginx.url} answered 502, expected 200 3 times in a row after it had answered (the service is gone)`);
  } finally {
    await nginx.stop();
    await kill(backend.process);
  }
});

test('502 from the first attempt is a slow start: it waits for start, not fail fast', async () => {
  const nginx = await startNginxProxy(await closedPort());
  try {
    const verdict = await settleHealth([http(nginx.url)], { timeout: 30_000, start: 1_000, interval: 200, stable: 500 }, { attempt });
    assert.is(verdict.healthy, false);
    assert.ok(verdict.elapsedMs >= 1_000 && verdict.elapsedMs < 5_000, `${verdict.elapsedMs}ms`);
    assert.is(verdict.reason, `http ${nginx.url} answered 502, expected 200 (had not passed once by start 1.0s)`);
  } finally {
    await nginx.stop();
  }
});

test.run();
