// SPEC design.md#probation: the watch after the commit, on a fake clock and a fake prober.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { judgeProbation, newRecord, recordProbationAttempt, watchProbation, type ProbationTiming } from '../../src/health/probation-watch.js';
import { watchRestarts, type ContainerRun } from '../../src/health/restart-watch.js';
import type { ProbeSpec } from '../../src/config/schema.js';
import type { ProbeResult } from '../../src/health/probes.js';
import type { ProcessRunner } from '../../src/system/process-runner.js';

const test = suite('probation watch');

const probe: ProbeSpec = { type: 'http', url: 'http://127.0.0.1:8080/', expect: 200, insecure: false } as ProbeSpec;
const timing: ProbationTiming = { remaining: 10_000, interval: 1_000, stable: 3_000, grace: 0 };
const ok: ProbeResult = { ok: true, detail: 'answered 200' };
const bad: ProbeResult = { ok: false, detail: 'answered 500, expected 200' };

/** A watch whose prober answers by the fake time; returns the verdict and the time it ended. */
async function watch(answer: (t: number) => ProbeResult, t0: Partial<ProbationTiming> = {}, restarted?: () => Promise<string | null>) {
  let t = 0;
  const verdict = await watchProbation([probe], { ...timing, ...t0 }, {
    attempt: async () => answer(t),
    clock: () => t,
    sleep: async (ms) => { t += Math.max(ms, 1); },
    restarted,
  });
  return { verdict, t };
}

test('healthy all along: passes at its end, not before', async () => {
  const { verdict, t } = await watch(() => ok);
  assert.ok(verdict.healthy);
  assert.is(t, 10_000);
  assert.match(verdict.reason, /probation passed \(no failed probe\)/);
});

test('a failure shorter than stable is counted and forgiven', async () => {
  const { verdict } = await watch((t) => (t >= 2_000 && t < 4_000 ? bad : ok));
  assert.ok(verdict.healthy, verdict.reason);
  assert.is(verdict.probes[0]!.failed, 2);
  assert.is(verdict.probes[0]!.lastFailure, 'answered 500, expected 200');
  assert.match(verdict.reason, /2 failed probe attempt\(s\), none lasting 3\.0s/);
});

test('a failure lasting stable fails it at once, naming the probe and what it saw', async () => {
  const { verdict, t } = await watch((t) => (t >= 5_000 ? bad : ok));
  assert.not.ok(verdict.healthy);
  assert.is(t, 8_000, 'rolled back after stable, before probation would have ended');
  assert.match(verdict.reason, /^http http:\/\/127\.0\.0\.1:8080\/ answered 500, expected 200 for 3\.0s in a row during probation \(stable 3\.0s\); 4 failed probe attempt\(s\)$/);
});

test('failing at its end: it waits up to stable for the verdict instead of passing a failing version', async () => {
  const { verdict } = await watch((t) => (t >= 9_000 ? bad : ok));
  assert.not.ok(verdict.healthy);
});

test('after a resume, failures before the first pass count only after the grace (the app is starting)', () => {
  const record = newRecord(probe);
  const resumed = { ...timing, grace: 5_000 };
  recordProbationAttempt(record, bad, 0, resumed);
  assert.is(record.failingSince, 5_000);
  assert.is(judgeProbation([record], 7_000, resumed), null, 'within the grace plus stable');
  const verdict = judgeProbation([record], 8_000, resumed)!;
  assert.not.ok(verdict.healthy);
  assert.match(verdict.reason, /had not passed once since tide resumed, 5\.0s allowed for the start/);
});

test('a restart of the app during the window fails it, even when every probe passes', async () => {
  let calls = 0;
  const { verdict } = await watch(() => ok, {}, async () => (++calls >= 3 ? 'unit demo.service was restarted 1 time(s) (NRestarts 0 → 1)' : null));
  assert.not.ok(verdict.healthy);
  assert.match(verdict.reason, /^unit demo\.service was restarted 1 time\(s\) \(NRestarts 0 → 1\) during probation/);
});

test('the restart watch reads NRestarts and each container run', async () => {
  let nrestarts = 2;
  const runs: Record<string, ContainerRun> = { web: { id: 'a', startedAt: 't1', restartCount: 0 } };
  const runner: ProcessRunner = {
    async run(argv) {
      assert.equal(argv, ['systemctl', 'show', '-p', 'NRestarts', '--value', 'demo.service']);
      return { code: 0, signal: null, stdout: `${nrestarts}\n`, stderr: '', timedOut: false };
    },
  };
  const restarts = await watchRestarts({ unit: 'demo.service', runner, containers: ['web'], containerRun: async (name) => runs[name] ?? null });
  assert.is(await restarts.restarted(), null);
  runs.web = { id: 'a', startedAt: 't1', restartCount: 1 };
  assert.is(await restarts.restarted(), 'container web was restarted 1 time(s) by podman');
  runs.web = { id: 'b', startedAt: 't2', restartCount: 0 };
  assert.is(await restarts.restarted(), 'container web was recreated');
  runs.web = { id: 'a', startedAt: 't1', restartCount: 0 };
  nrestarts = 3;
  assert.is(await restarts.restarted(), 'unit demo.service was restarted 1 time(s) (NRestarts 2 → 3)');
});

test.run();
