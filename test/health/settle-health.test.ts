// The state logic of settleHealth on a fake clock: sleep advances time, attempts are instant.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ProbeSpec } from '../../src/config/schema.js';
import type { ProbeResult } from '../../src/health/probes.js';
import { settleHealth, type HealthTiming, type SettleDeps } from '../../src/health/settle-health.js';

const web: ProbeSpec = { type: 'http', url: 'http://127.0.0.1:8080/', expect: 200, insecure: false };
const db: ProbeSpec = { type: 'tcp', host: '127.0.0.1', port: 5432 };
const unit: ProbeSpec = { type: 'unit', unit: 'demo.service' };
const check: ProbeSpec = { type: 'command', argv: ['/bin/check'] };
const timing: HealthTiming = { timeout: 30_000, start: 30_000, interval: 2_000, stable: 10_000 };

const pass: ProbeResult = { ok: true, detail: 'answered 200', answered: true, refused: false };
const error500: ProbeResult = { ok: false, detail: 'answered 500, expected 200', answered: true, refused: false };
const refused: ProbeResult = { ok: false, detail: 'refused the connection', refused: true };

/** A fake clock, and an attempt that answers by (probe, time). */
function scripted(answer: (probe: ProbeSpec, t: number) => ProbeResult, more: Partial<SettleDeps> = {}) {
  let t = 0;
  const seen: Array<[number, string, boolean]> = [];
  const deps: SettleDeps = {
    clock: () => t,
    sleep: async (ms) => void (t += ms),
    attempt: async (probe) => answer(probe, t),
    onAttempt: (probe, result) => seen.push([t, probe.type, result.ok]),
    ...more,
  };
  return { deps, seen };
}

test('no probes configured is healthy at once', async () => {
  const { deps, seen } = scripted(() => pass);
  assert.equal(await settleHealth([], timing, deps), { healthy: true, reason: 'no probes configured', elapsedMs: 0 });
  assert.is(seen.length, 0);
});

test('healthy once every probe has passed continuously for stable', async () => {
  const { deps, seen } = scripted(() => pass);
  const verdict = await settleHealth([web, db], timing, deps);
  assert.is(verdict.healthy, true);
  assert.is(verdict.elapsedMs, 10_000);
  assert.is(verdict.reason, 'all 2 probes passed continuously for 10s');
  assert.is(seen.length, 12, 'six rounds of two probes, every 2s');
});

test('a failing probe at the timeout makes it unhealthy, naming the probe and what it saw', async () => {
  const { deps } = scripted((probe) => (probe === web ? error500 : pass));
  const verdict = await settleHealth([web, db], timing, deps);
  assert.is(verdict.healthy, false);
  assert.is(verdict.elapsedMs, 30_000);
  assert.is(verdict.reason, 'http http://127.0.0.1:8080/ answered 500, expected 200 (not healthy within 30s)');
});

test('a flapping probe resets the stable window', async () => {
  const { deps } = scripted((_probe, t) => (t === 6_000 ? error500 : pass));
  const verdict = await settleHealth([web], timing, deps);
  assert.is(verdict.healthy, true);
  assert.is(verdict.elapsedMs, 18_000, 'passing again from 8s, stable 10s later');
});

test('a probe that keeps flapping is unhealthy at the timeout, with its last failure', async () => {
  const { deps } = scripted((_probe, t) => (t % 8_000 === 0 ? error500 : pass));
  const verdict = await settleHealth([web], timing, deps);
  assert.is(verdict.healthy, false);
  assert.is(verdict.elapsedMs, 30_000);
  assert.is(
    verdict.reason,
    'http http://127.0.0.1:8080/ passed for only 4.0s in a row, stable needs 10s; before that it answered 500, expected 200 (not healthy within 30s)',
  );
});

test('a service that is up but not ready by start is told apart from a crash: a slow first start', async () => {
  const { deps } = scripted((probe, t) => (probe === web && t < 20_000 ? error500 : pass));
  const verdict = await settleHealth([web], { ...timing, start: 5_000 }, deps);
  assert.is(verdict.healthy, false);
  assert.match(verdict.reason, /answered 500, expected 200 \(had not passed once by start 5\.0s: a first start slower than start, not a crash/);
  assert.is(verdict.failedAttempts, 4, 'each failed attempt is counted (0, 2, 4 s and at start)');
  assert.is(verdict.lastFailure, 'http http://127.0.0.1:8080/ answered 500, expected 200');
});

test('a probe that has not passed by start is unhealthy at start, before the timeout', async () => {
  const { deps } = scripted((probe, t) => (probe === web && t < 20_000 ? refused : pass));
  const verdict = await settleHealth([web, db], { ...timing, start: 5_000 }, deps);
  assert.is(verdict.healthy, false);
  assert.is(verdict.elapsedMs, 5_000, 'woken exactly at start');
  assert.is(verdict.reason, 'http http://127.0.0.1:8080/ refused the connection (had not passed once by start 5.0s)');
});

test('a probe that passed once before start may fail later until the timeout', async () => {
  const { deps } = scripted((_probe, t) => (t === 2_000 ? pass : error500));
  const verdict = await settleHealth([web], { ...timing, start: 5_000 }, deps);
  assert.is(verdict.elapsedMs, 30_000);
  assert.match(verdict.reason, /not healthy within 30s/);
});

test('a failed unit fails fast', async () => {
  const { deps } = scripted((probe, t) => (probe === unit && t >= 4_000 ? { ok: false, detail: 'is failed', gone: true } : pass));
  const verdict = await settleHealth([web, unit], timing, deps);
  assert.is(verdict.healthy, false);
  assert.is(verdict.elapsedMs, 4_000);
  assert.is(verdict.reason, 'unit demo.service is failed (gone for good, not waiting for the timeout)');
});

test('refused three times in a row after answering fails fast', async () => {
  const { deps } = scripted((_probe, t) => (t < 4_000 ? pass : refused));
  const verdict = await settleHealth([web], timing, deps);
  assert.is(verdict.healthy, false);
  assert.is(verdict.elapsedMs, 8_000, 'refused at 4s, 6s and 8s');
  assert.is(
    verdict.reason,
    'http http://127.0.0.1:8080/ refused the connection 3 times in a row after it had answered (the service is gone)',
  );
});

test('refusals before the first answer are a slow start, not a death', async () => {
  const { deps } = scripted((_probe, t) => (t < 12_000 ? refused : pass));
  const verdict = await settleHealth([web], timing, deps);
  assert.is(verdict.healthy, true);
  assert.is(verdict.elapsedMs, 22_000);
});

test('an answer between refusals resets the refused count', async () => {
  const { deps } = scripted((_probe, t) => (t === 0 || t === 6_000 ? error500 : refused));
  const verdict = await settleHealth([web], timing, deps);
  assert.is(verdict.elapsedMs, 12_000, 'refused at 8s, 10s, 12s after the answer at 6s');
  assert.match(verdict.reason, /3 times in a row/);
});

test('a failing command probe is not fail-fast', async () => {
  const { deps } = scripted(() => ({ ok: false, detail: 'exited 1' }));
  const verdict = await settleHealth([check], timing, deps);
  assert.is(verdict.elapsedMs, 30_000);
  assert.is(verdict.reason, 'command /bin/check exited 1 (not healthy within 30s)');
});

test('the service-gone hook fails fast even when no probe ever answered', async () => {
  let calls = 0;
  const { deps } = scripted(() => refused, { isServiceGone: () => ++calls >= 2 });
  const verdict = await settleHealth([web], timing, deps);
  assert.is(verdict.healthy, false);
  assert.is(verdict.elapsedMs, 2_000);
  assert.is(verdict.reason, 'the restarted service is gone; http http://127.0.0.1:8080/ refused the connection');
});

test('the service-gone hook may give the reason', async () => {
  const { deps } = scripted(() => refused, { isServiceGone: async () => 'demo exited 1 right after the restart' });
  const verdict = await settleHealth([web], timing, deps);
  assert.is(verdict.elapsedMs, 0);
  assert.match(verdict.reason, /^demo exited 1 right after the restart; http /);
});

test('an attempt that throws counts as a failed attempt', async () => {
  const { deps } = scripted(() => {
    throw new Error('prober bug');
  });
  const verdict = await settleHealth([web], { ...timing, timeout: 4_000, start: 4_000 }, deps);
  assert.is(verdict.healthy, false);
  assert.match(verdict.reason, /could not be checked: prober bug/);
});

test('an abort stops the settle without a verdict', async () => {
  const controller = new AbortController();
  const { deps } = scripted((_probe, t) => {
    if (t === 4_000) controller.abort();
    return error500;
  }, {});
  const verdict = await settleHealth([web], timing, { ...deps, signal: controller.signal });
  assert.is(verdict.healthy, false);
  assert.is(verdict.aborted, true);
  assert.is(verdict.elapsedMs, 4_000);
});

test('a clock that stands still cannot make it loop forever', async () => {
  let attempts = 0;
  const verdict = await settleHealth([web], timing, {
    clock: () => 0,
    sleep: async () => {},
    attempt: async () => (attempts++, error500),
  });
  assert.is(verdict.healthy, false);
  assert.ok(attempts <= 20, `${attempts} attempts`);
  assert.match(verdict.reason, /answered 500/);
});

test('the attempt gets a timeout of the interval, at most 5s', async () => {
  const budgets: number[] = [];
  const { deps } = scripted(() => pass);
  await settleHealth([web], { ...timing, stable: 0 }, { ...deps, attempt: async (_p, b) => (budgets.push(b!.timeoutMs), pass) });
  await settleHealth([web], { ...timing, interval: 30_000, stable: 0 }, { ...deps, attempt: async (_p, b) => (budgets.push(b!.timeoutMs), pass) });
  assert.equal(budgets, [2_000, 5_000]);
});

test.run();
