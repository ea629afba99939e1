// test-needs: systemd, nginx
// Probation across a power cut, through the real units: the boot waits for the
// startup check only. tide-update.service is held inside a release's probation
// (TIDE_TEST_HANG_AT=probation-<version>), the power is cut, and at the boot
// tide-verify.service hands the marker to tide-probation.service and exits 0, so
// the system is `running` while the probation goes on; tide-probation.service then
// commits a healthy release, or rolls back one that dies late (exit 5, a success
// for the unit: the host runs a good version).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ServiceBehaviour } from '../../scripts/lib/service-app.js';
import { createDemoHost, labHealth, waitFor, type DemoHost, type JournalLine } from './demo-host.js';

let host: DemoHost;

const messages = (lines: JournalLine[]) => lines.map((line) => line.message).join('\n');

test.before(async () => {
  // 40 s of probation: the cut comes at its first probe, the boot takes about 10 s.
  host = await createDemoHost({ name: 'probation', health: `${labHealth}\nprobation = "40s"` });
  await host.publish('1.0.0');
  const first = await host.startUnit('tide-update.service');
  if (first.exitStatus !== 0) throw new Error(`the first install exited ${first.exitStatus}`);
});

test.after(async () => {
  await host?.cleanup();
});

async function unitShow(unit: string): Promise<Record<string, string>> {
  const shown = await host.machine.run(['systemctl', 'show', '-p', 'ActiveState,Result,ExecMainStatus', unit]);
  return Object.fromEntries(shown.stdout.trim().split('\n').map((line) => line.split('=', 2) as [string, string]));
}

/** Update to `version`, cut the power at its first probe in probation, boot. */
async function cutInProbation(version: string, behaviour: ServiceBehaviour): Promise<void> {
  await host.publish(version, behaviour);
  await host.machine.run(['systemctl', 'set-environment', `TIDE_TEST_HANG_AT=probation-${version}`]);
  await host.machine.run(['systemctl', 'start', '--no-block', 'tide-update.service']);
  await waitFor(`tide-update in the probation of ${version}`, async () => {
    const tail = (await host.machine.run(['journalctl', '-b', '-u', 'tide-update.service', '-o', 'cat', '--no-pager', '-n', '20'])).stdout;
    return tail.includes(`test hook: hanging at probation-${version}`);
  }, 90_000);
  assert.is(host.marker()?.phase, 'probation');
  await host.machine.powerCut();
  await host.machine.boot();
}

/** At the boot: `running`, tide-verify exited 0 having handed off, tide-probation still watching. */
async function assertBootNotHeld(version: string): Promise<void> {
  const state = await host.machine.waitBooted();
  assert.is(state, 'running', `the system is ${state}: ${(await host.machine.run(['systemctl', '--failed', '--no-legend', '--plain'])).stdout}`);
  const verify = await unitShow('tide-verify.service');
  assert.equal([verify.Result, verify.ExecMainStatus], ['success', '0']);
  const said = await host.journal('tide-verify.service');
  assert.ok(said.some((line) => /probation continues in tide-probation\.service/.test(line.message)), messages(said));
  // Boot did not wait for the probation: it is still being watched, with the marker in place.
  const probation = await unitShow('tide-probation.service');
  if (probation.ActiveState !== 'active') {
    const status = (await host.machine.run(['systemctl', 'status', '--no-pager', '-n', '30', 'tide-probation.service'])).stdout;
    assert.unreachable(`tide-probation.service is ${probation.ActiveState} (${probation.Result}, exit ${probation.ExecMainStatus}), not watching:\n${status}\n${messages(said)}`);
  }
  assert.is(host.marker()?.phase, 'probation');
  assert.equal(await host.serving(), { api: `demo ${version}`, web: `<h1>demo ${version}</h1>` });
}

/**
 * Once tide-probation.service has ended: its state and tide's exit code, from the
 * closing `result` line (systemd garbage-collects an unreferenced unit once it is
 * inactive, and its ExecMainStatus with it).
 */
async function probationEnded(): Promise<{ state: string; exitCode: unknown; journal: JournalLine[] }> {
  const shown = await waitFor('tide-probation.service to end', async () => {
    const now = await unitShow('tide-probation.service');
    return ['activating', 'active', 'deactivating'].includes(now.ActiveState ?? '') ? null : now;
  }, 90_000);
  const journal = await host.journal('tide-probation.service');
  const result = journal.find((line) => line.event === 'result' && line.command === 'verify');
  return { state: shown.ActiveState!, exitCode: result?.exitCode, journal };
}

test('power cut in probation of a healthy release: boot reaches running at once, tide-probation.service commits it', async () => {
  await cutInProbation('1.1.0', 'good');
  await assertBootNotHeld('1.1.0');
  const ended = await probationEnded();
  assert.equal([ended.state, ended.exitCode], ['inactive', 0], messages(ended.journal));
  const journal = ended.journal;
  assert.ok(journal.some((line) => line.event === 'verify' && /from phase probation \(attempt 2\)/.test(line.message)), messages(journal));
  assert.ok(journal.some((line) => /probation passed/.test(line.message)), messages(journal));
  assert.is(host.marker(), null);
  const status = await host.status();
  assert.equal([status.current, status.pending, status.lastResult], ['1.1.0', null, 'committed']);
  assert.equal(host.stateJson().bad, []);
  assert.is((await host.machine.run(['systemctl', 'is-system-running'])).stdout.trim(), 'running');
});

test('power cut in probation of a release that dies late: boot reaches running, tide-probation.service rolls it back (exit 5, not a failed unit)', async () => {
  await cutInProbation('1.2.0', 'dies-later');
  await assertBootNotHeld('1.2.0');
  const ended = await probationEnded();
  // Exit 5 is a success for the unit (SuccessExitStatus=5): inactive, not failed.
  assert.equal([ended.state, ended.exitCode], ['inactive', 5], messages(ended.journal));
  assert.is(host.marker(), null);
  const status = await host.status();
  assert.equal([status.current, status.lastResult], ['1.1.0', 'rolled-back']);
  assert.ok(host.stateJson().bad.includes('1.2.0'));
  assert.equal(await host.serving(), { api: 'demo 1.1.0', web: '<h1>demo 1.1.0</h1>' });
  assert.is((await host.machine.run(['systemctl', 'is-system-running'])).stdout.trim(), 'running');
});

test.run();
