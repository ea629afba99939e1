// test-needs: nginx, network
// SPEC design.md#probation through the real CLI: a real service behind a real nginx.
// A release that is healthy for 5 s and then dies passes its startup check, is committed,
// and is rolled back inside its probation; the same when tide is killed with SIGKILL
// during probation and `tide verify` finishes it; SIGTERM during probation keeps the
// marker; a healthy release outlives probation, and only then is the old version
// pruned, while a second update waits for it. `tide verify --hand-off-probation UNIT`
// (the boot unit) stops at probation and starts UNIT, or watches it itself when UNIT
// cannot be started.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHostFixture, tideBin, type HostFixture, type TideRun } from '../helpers/host-fixture.js';

const test = suite('probation end to end');

/** Probing settles in 1 s; probation 20 s; a failure lasting 1 s rolls back. */
const health = (probation: string) => `[health]\ntimeout = "15s"\nstart = "4s"\ninterval = "200ms"\nstable = "1s"\nprobation = "${probation}"\n`;

const marker = (host: HostFixture) => join(host.stateDir, 'pending.json');
const current = (host: HostFixture) => readlinkSync(join(host.stateDir, 'current'));

async function hostOn100(probation: string): Promise<HostFixture> {
  const host = await createHostFixture({ health: health(probation) });
  await host.publish('1.0.0');
  const first = await host.tide(['update']);
  assert.is(first.code, 0, first.stderr);
  return host;
}

/** `tide update` in the background; `until` resolves when stderr matches. */
function spawnUpdate(host: HostFixture) {
  const child = spawn(process.execPath, [tideBin, '--config', host.configPath, 'update'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const closed = new Promise<TideRun>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  const until = (pattern: RegExp) => new Promise<void>((resolve, reject) => {
    const check = () => {
      if (pattern.test(stderr)) return resolve();
      if (child.exitCode !== null || child.signalCode !== null) return reject(new Error(`tide ended before ${pattern}: ${stderr}`));
      setTimeout(check, 50);
    };
    check();
  });
  return { child, closed, until };
}

function assertLateRollback(host: HostFixture, run: TideRun): void {
  assert.is(run.code, 5, run.stdout + run.stderr);
  assert.match(run.stdout, /1\.1\.0 was unhealthy in probation after its commit, rolled back to 1\.0\.0: after the commit, in probation: http .* in a row during probation/);
  assert.is(current(host), 'versions/1.0.0');
  assert.equal(host.stateJson().bad, ['1.1.0']);
  const [committed, rolledBack] = host.stateJson().history.slice(-2) as { to: string; result: string; inProbation?: boolean; reason?: string; lastProbeFailure?: string }[];
  assert.equal([committed!.to, committed!.result, committed!.inProbation], ['1.1.0', 'committed', undefined]);
  assert.equal([rolledBack!.to, rolledBack!.result, rolledBack!.inProbation], ['1.1.0', 'rolled-back', true]);
  // The reason of the newest failed probe is kept per transaction, on both entries.
  assert.match(rolledBack!.lastProbeFailure ?? '', /^http http:\/\/127\.0\.0\.1:\d+\/ answered 502, expected 200$/);
  assert.is(committed!.lastProbeFailure, rolledBack!.lastProbeFailure);
  assert.not.ok(existsSync(marker(host)), 'the marker is gone');
}

test('a release healthy for 5 s, then dying, is committed and then rolled back inside a 20 s probation (exit 5)', async () => {
  const host = await hostOn100('20s');
  try {
    await host.publish('1.1.0', 'dies-later');
    const run = await host.tide(['update']);
    assertLateRollback(host, run);
    assert.match(run.stderr, /committed 1\.1\.0/);
    assert.match(run.stderr, /1\.1\.0 is on probation until/);
    assert.is(await host.serving(), 'demo 1.0.0');
    const history = await host.tide(['history']);
    assert.match(history.stdout, /rolled-back \(in probation\)/);
    // Marked bad: the next unattended update does not try it again.
    const again = await host.tide(['update']);
    assert.is(again.code, 0, again.stderr);
    assert.is(current(host), 'versions/1.0.0');
  } finally {
    await host.cleanup();
  }
});

test('SIGKILL during probation: status shows probation and its end, and tide verify finishes it with the time left', async () => {
  const host = await hostOn100('20s');
  try {
    await host.publish('1.1.0', 'dies-later');
    const update = spawnUpdate(host);
    await update.until(/watching 1\.1\.0 for/);
    update.child.kill('SIGKILL');
    const killed = await update.closed;
    assert.is(killed.signal, 'SIGKILL');
    const left = JSON.parse(readFileSync(marker(host), 'utf8'));
    assert.is(left.phase, 'probation');
    const status = JSON.parse((await host.tide(['status', '--json'])).stdout);
    assert.equal([status.current, status.previous, status.pending.phase], ['1.1.0', '1.0.0', 'probation']);
    assert.is(status.pending.probationUntil, left.probationUntil);
    const text = await host.tide(['status']);
    assert.match(text.stdout, new RegExp(`phase probation, probation ends ${left.probationUntil.replace(/\./g, '\\.')}`));

    // Time passes before the resume (a reboot), so what is left is visibly less than the window.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const verify = await host.tide(['verify']);
    assertLateRollback(host, verify);
    assert.match(verify.stderr, /from phase probation \(attempt 2\)/);
    // The rest of probation only, not a fresh 20 s.
    const [, seconds] = /watching 1\.1\.0 for ([0-9.]+)s more/.exec(verify.stderr) ?? [];
    assert.ok(seconds !== undefined && Number(seconds) < 20, `resumed with ${seconds}s left`);
    assert.is(await host.serving(), 'demo 1.0.0');
  } finally {
    await host.cleanup();
  }
});

test('SIGTERM during probation (a shutdown) keeps the marker and exits 0; the next tide update finishes that probation, then updates', async () => {
  const host = await hostOn100('6s');
  try {
    await host.publish('1.1.0');
    const update = spawnUpdate(host);
    await update.until(/watching 1\.1\.0 for/);
    update.child.kill('SIGTERM');
    const stopped = await update.closed;
    assert.is(stopped.code, 0, stopped.stdout + stopped.stderr);
    assert.match(stopped.stdout, /1\.1\.0 is still on probation: .*tide verify resumes probation/);
    assert.is(JSON.parse(readFileSync(marker(host), 'utf8')).phase, 'probation');
    assert.equal(host.stateJson().bad, [], 'a shutdown never blames the release');
    assert.is(current(host), 'versions/1.1.0', 'a shutdown does not undo a committed version');
    // A new update waits until the running one's probation has ended, then goes on.
    await host.publish('1.2.0');
    const next = await host.tide(['update']);
    assert.is(next.code, 0, next.stdout + next.stderr);
    assert.match(next.stderr, /from phase probation \(attempt 2\)[\s\S]*1\.1\.0: probation passed[\s\S]*installing 1\.2\.0/);
    assert.match(next.stdout, /updated 1\.1\.0 → 1\.2\.0: .*probation passed/);
    assert.not.ok(existsSync(marker(host)));
    assert.is(await host.serving(), 'demo 1.2.0');
    assert.equal(host.stateJson().history.map((h) => [h.to, h.result]), [['1.0.0', 'committed'], ['1.1.0', 'committed'], ['1.2.0', 'committed']]);
  } finally {
    await host.cleanup();
  }
});

/** A `systemctl` first on PATH that records its argv and exits `code`, as the boot unit's tide would see PID 1 answer. */
function fakeSystemctl(host: HostFixture, code: number): { env: Record<string, string>; calls: () => string[] } {
  const bin = join(host.stateDir, '..', 'fake-bin');
  const log = join(bin, 'calls');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'systemctl'), `#!/bin/sh\necho "$*" >> '${log}'\n[ ${code} = 0 ] || echo "Failed to start unit: PID 1 said no" >&2\nexit ${code}\n`);
  chmodSync(join(bin, 'systemctl'), 0o755);
  return {
    env: { PATH: `${bin}:${process.env.PATH}` },
    calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []),
  };
}

async function killedInProbation(host: HostFixture): Promise<{ attempt: number; probationUntil: string }> {
  const update = spawnUpdate(host);
  await update.until(/watching 1\.1\.0 for/);
  update.child.kill('SIGKILL');
  await update.closed;
  return JSON.parse(readFileSync(marker(host), 'utf8'));
}

test('verify --hand-off-probation after a reboot in probation: exit 0 at once, the marker untouched, the unit started, which finishes it', async () => {
  const host = await hostOn100('20s');
  try {
    await host.publish('1.1.0', 'dies-later');
    const left = await killedInProbation(host);
    const systemctl = fakeSystemctl(host, 0);
    const boot = await host.tide(['verify', '--hand-off-probation', 'tide-probation.service'], systemctl.env);
    assert.is(boot.code, 0, boot.stdout + boot.stderr);
    assert.match(boot.stdout, /^1\.1\.0 is still on probation: probation continues in tide-probation\.service; the marker is kept/);
    assert.equal(systemctl.calls(), ['start --no-block tide-probation.service']);
    // Not an attempt: only the run that watches counts one.
    assert.equal(JSON.parse(readFileSync(marker(host), 'utf8')), left);
    assert.is(current(host), 'versions/1.1.0');
    // What the unit runs.
    const watched = await host.tide(['verify']);
    assertLateRollback(host, watched);
    assert.match(watched.stderr, /from phase probation \(attempt 2\)/);
  } finally {
    await host.cleanup();
  }
});

test('verify --hand-off-probation when the unit cannot be started: it says so and watches the probation itself', async () => {
  const host = await hostOn100('20s');
  try {
    await host.publish('1.1.0', 'dies-later');
    await killedInProbation(host);
    const systemctl = fakeSystemctl(host, 1);
    const boot = await host.tide(['verify', '--hand-off-probation', 'tide-probation.service'], systemctl.env);
    assert.equal(systemctl.calls(), ['start --no-block tide-probation.service']);
    assert.match(boot.stderr, /cannot start tide-probation\.service \(Failed to start unit: PID 1 said no\); watching the probation in this run/);
    assertLateRollback(host, boot);
  } finally {
    await host.cleanup();
  }
});

test('verify --hand-off-probation from an earlier phase: the startup check and the commit run here, then probation is handed off', async () => {
  const host = await hostOn100('20s');
  try {
    await host.publish('1.1.0');
    const update = spawnUpdate(host);
    await update.until(/probing 1\.1\.0|switching .* → 1\.1\.0/);
    update.child.kill('SIGKILL');
    await update.closed;
    const before = JSON.parse(readFileSync(marker(host), 'utf8'));
    assert.ok(before.phase !== 'probation', `killed too late: ${before.phase}`);
    const systemctl = fakeSystemctl(host, 0);
    const boot = await host.tide(['verify', '--hand-off-probation', 'tide-probation.service'], systemctl.env);
    assert.is(boot.code, 0, boot.stdout + boot.stderr);
    assert.match(boot.stderr, /committed 1\.1\.0/);
    assert.match(boot.stdout, /1\.1\.0 is still on probation: probation continues in tide-probation\.service/);
    assert.equal(systemctl.calls(), ['start --no-block tide-probation.service']);
    const after = JSON.parse(readFileSync(marker(host), 'utf8'));
    assert.equal([after.phase, after.attempt], ['probation', 1]);
    assert.is(await host.serving(), 'demo 1.1.0');
  } finally {
    await host.cleanup();
  }
});

test('verify --hand-off-probation with a name that is not a service unit is a usage error (exit 2), nothing settled', async () => {
  const host = await hostOn100('20s');
  try {
    await host.publish('1.1.0', 'dies-later');
    const left = await killedInProbation(host);
    const run = await host.tide(['verify', '--hand-off-probation', 'tide probation; reboot']);
    assert.is(run.code, 2, run.stdout + run.stderr);
    assert.match(run.stderr, /--hand-off-probation takes a service unit name/);
    assert.equal(JSON.parse(readFileSync(marker(host), 'utf8')), left);
  } finally {
    await host.cleanup();
  }
});

test('a healthy release outlives probation; the old version is pruned only then, and a second update waits for it', async () => {
  const host = await hostOn100('3s');
  try {
    for (const v of ['1.1.0', '1.2.0']) {
      await host.publish(v);
      const run = await host.tide(['update']);
      assert.is(run.code, 0, run.stderr);
    }
    await host.publish('1.3.0');
    const update = spawnUpdate(host);
    await update.until(/watching 1\.3\.0 for/);
    // keep = 1: after this commit 1.0.0 is not kept; during probation nothing is pruned.
    assert.equal(readdirSync(join(host.stateDir, 'versions')).sort(), ['1.0.0', '1.1.0', '1.2.0', '1.3.0']);
    const second = await host.tide(['update']);
    assert.is(second.code, 0, second.stderr);
    assert.match(second.stderr, /on probation until .*; waiting for it to end/);
    assert.match(second.stdout, /up to date: 1\.3\.0/);
    const first = await update.closed;
    assert.is(first.code, 0, first.stderr);
    assert.match(first.stdout, /updated 1\.2\.0 → 1\.3\.0: .*probation passed/);
    assert.equal(readdirSync(join(host.stateDir, 'versions')).sort(), ['1.1.0', '1.2.0', '1.3.0']);
    assert.not.ok(existsSync(marker(host)));
    assert.is(await host.serving(), 'demo 1.3.0');
    assert.equal(host.stateJson().history.map((h) => h.result), ['committed', 'committed', 'committed', 'committed']);
  } finally {
    await host.cleanup();
  }
});

test.run();
