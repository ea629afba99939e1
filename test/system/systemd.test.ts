import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ProcessRunner, RunResult } from '../../src/system/process-runner.js';
import { isActive, isFailed, restartService, restartUnit, unitState } from '../../src/system/systemd.js';

function fakeRunner(answer: (argv: string[]) => Partial<RunResult>): ProcessRunner & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    async run(argv) {
      calls.push(argv);
      return { code: 0, signal: null, stdout: '', stderr: '', timedOut: false, ...answer(argv) };
    },
  };
}

test('isActive asks systemctl is-active and reads its answer', async () => {
  const runner = fakeRunner(() => ({ stdout: 'active\n' }));
  assert.is(await isActive(runner, 'demo.service'), true);
  assert.equal(runner.calls, [['systemctl', 'is-active', 'demo.service']]);
  const inactive = fakeRunner(() => ({ code: 3, stdout: 'inactive\n' }));
  assert.is(await isActive(inactive, 'demo.service'), false);
});

test('isFailed is true only for a failed unit', async () => {
  assert.is(await isFailed(fakeRunner(() => ({ code: 3, stdout: 'failed\n' })), 'demo.service'), true);
  assert.is(await isFailed(fakeRunner(() => ({ code: 3, stdout: 'activating\n' })), 'demo.service'), false);
});

test('a systemctl that cannot tell gives state unknown and says why', async () => {
  const runner = fakeRunner(() => ({ code: 1, stderr: 'System has not been booted with systemd as init system (PID 1).\n' }));
  const state = await unitState(runner, 'demo.service');
  assert.is(state.state, 'unknown');
  assert.match(state.detail, /exited 1: System has not been booted/);
});

test('honours a systemctl argv prefix', async () => {
  const runner = fakeRunner(() => ({ stdout: 'active\n' }));
  await isActive(runner, 'demo.service', { systemctl: ['systemctl', '--user'] });
  assert.equal(runner.calls[0], ['systemctl', '--user', 'is-active', 'demo.service']);
});

test('restartUnit runs systemctl restart and reports success', async () => {
  const runner = fakeRunner(() => ({}));
  const outcome = await restartUnit(runner, 'demo.service');
  // The failed state is reset first: a unit that crash-looped would refuse the start.
  assert.equal(runner.calls, [['systemctl', 'reset-failed', 'demo.service'], ['systemctl', 'restart', 'demo.service']]);
  assert.equal(outcome, { ok: true, detail: 'ran systemctl restart demo.service' });
});

test('a restart argv with systemctl flags resets with the same flags; any other command is run alone', async () => {
  const user = fakeRunner(() => ({}));
  await restartService(user, ['/bin/systemctl', '--user', 'restart', 'a.service', 'b.service']);
  assert.equal(user.calls[0], ['/bin/systemctl', '--user', 'reset-failed', 'a.service', 'b.service']);
  const script = fakeRunner(() => ({}));
  await restartService(script, ['/srv/demo/restart', 'restart', 'x']);
  assert.equal(script.calls, [['/srv/demo/restart', 'restart', 'x']]);
});

test('a failed restart says what the command said and the unit\'s own state, without throwing', async () => {
  const runner = fakeRunner((argv) => argv.includes('show')
    ? { stdout: 'ActiveState=failed\nResult=start-limit-hit\nNRestarts=5\n' }
    : argv.includes('restart') ? { code: 1, stderr: 'Job for demo.service failed.\n' } : {});
  const outcome = await restartService(runner, ['systemctl', 'restart', 'demo.service']);
  assert.is(outcome.ok, false);
  assert.is(outcome.detail, 'systemctl restart demo.service exited 1: Job for demo.service failed.; demo.service: failed (start-limit-hit, 5 restarts)');
  assert.equal(runner.calls.at(-1), ['systemctl', 'show', '-p', 'ActiveState,Result,NRestarts', 'demo.service']);
});

test('a restart that times out is a failure', async () => {
  const runner = fakeRunner(() => ({ code: null, signal: 'SIGTERM', timedOut: true }));
  const outcome = await restartService(runner, ['/srv/demo/restart'], { timeoutMs: 5_000 });
  assert.is(outcome.ok, false);
  assert.is(outcome.detail, '/srv/demo/restart timed out after 5.0s');
});

test.run();
