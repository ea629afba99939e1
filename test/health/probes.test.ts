// test-needs: network
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { attemptTimeoutFor, createProber, describeProbe } from '../../src/health/probes.js';
import type { ProcessRunner, RunResult } from '../../src/system/process-runner.js';
import { closedPort, startHttp } from './test-servers.js';

const budget = { timeoutMs: 2_000 };

function fakeSystemctl(stdout: string, code = 3): ProcessRunner & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    async run(argv): Promise<RunResult> {
      calls.push(argv);
      return { code, signal: null, stdout, stderr: '', timedOut: false };
    },
  };
}

test('tcp passes when the port accepts and is refused when closed', async () => {
  const attempt = createProber();
  const server = await startHttp((_req, res) => res.end());
  try {
    const open = await attempt({ type: 'tcp', host: '127.0.0.1', port: server.port }, budget);
    assert.equal(open, { ok: true, detail: 'accepted a connection', answered: true });
  } finally {
    await server.close();
  }
  const port = await closedPort();
  const closed = await attempt({ type: 'tcp', host: '127.0.0.1', port }, budget);
  assert.equal(closed, { ok: false, detail: 'refused the connection', refused: true });
});

test('command passes on exit 0 and fails otherwise, never as gone', async () => {
  const attempt = createProber();
  assert.equal(await attempt({ type: 'command', argv: ['true'] }, budget), { ok: true, detail: 'exited 0' });
  const failed = await attempt({ type: 'command', argv: ['sh', '-c', 'echo not ready >&2; exit 1'] }, budget);
  assert.equal(failed, { ok: false, detail: 'exited 1: not ready' });
  const missing = await attempt({ type: 'command', argv: ['/nonexistent/check'] }, budget);
  assert.equal(missing, { ok: false, detail: 'could not start: ENOENT' });
});

test('a command probe that hangs is killed at the attempt timeout', async () => {
  const attempt = createProber();
  const started = Date.now();
  const result = await attempt({ type: 'command', argv: ['sleep', '30'] }, { timeoutMs: 200 });
  assert.equal(result, { ok: false, detail: 'timed out after 200ms' });
  assert.ok(Date.now() - started < 2_000);
});

test('unit passes when active; a failed unit is gone for good', async () => {
  const active = fakeSystemctl('active\n', 0);
  assert.equal(await createProber({ runner: active })({ type: 'unit', unit: 'demo.service' }, budget), { ok: true, detail: 'is active' });
  assert.equal(active.calls, [['systemctl', 'is-active', 'demo.service']]);
  const failed = await createProber({ runner: fakeSystemctl('failed\n') })({ type: 'unit', unit: 'demo.service' }, budget);
  assert.equal(failed, { ok: false, detail: 'is failed', gone: true });
  const starting = await createProber({ runner: fakeSystemctl('activating\n') })({ type: 'unit', unit: 'demo.service' }, budget);
  assert.equal(starting, { ok: false, detail: 'is activating' });
});

test('container probes fail without podman and use the injected probe otherwise', async () => {
  const without = await createProber()({ type: 'container', name: 'demo-web' }, budget);
  assert.equal(without, { ok: false, detail: 'cannot be checked: container probes need podman' });
  const asked: string[] = [];
  const withPodman = createProber({
    containerProbe: async (name) => (asked.push(name), { ok: false, detail: 'is exited', gone: true }),
  });
  assert.equal(await withPodman({ type: 'container', name: 'demo-web' }, budget), { ok: false, detail: 'is exited', gone: true });
  assert.equal(asked, ['demo-web']);
});

test('a probe that throws becomes a failed attempt', async () => {
  const attempt = createProber({ containerProbe: async () => { throw new Error('podman exploded'); } });
  assert.equal(await attempt({ type: 'container', name: 'x' }, budget), { ok: false, detail: 'could not be checked: podman exploded' });
});

test('describeProbe names each probe for log lines', () => {
  assert.is(describeProbe({ type: 'http', url: 'http://127.0.0.1:8080/', expect: 200, insecure: false }), 'http http://127.0.0.1:8080/');
  assert.is(describeProbe({ type: 'tcp', host: '127.0.0.1', port: 5432 }), 'tcp 127.0.0.1:5432');
  assert.is(describeProbe({ type: 'tcp', host: '::1', port: 5432 }), 'tcp [::1]:5432');
  assert.is(describeProbe({ type: 'unit', unit: 'demo.service' }), 'unit demo.service');
  assert.is(describeProbe({ type: 'command', argv: ['/bin/check', '--deep', 'a b'] }), 'command /bin/check --deep "a b"');
  assert.is(describeProbe({ type: 'container', name: 'demo-web' }), 'container demo-web');
});

test('an attempt takes the interval, capped at 5s and at least 1s', () => {
  assert.is(attemptTimeoutFor(2_000), 2_000);
  assert.is(attemptTimeoutFor(60_000), 5_000);
  assert.is(attemptTimeoutFor(100), 1_000);
});

test.run();
