// The power-cut matrix the host-lab tests share (power-cuts.test.ts on the machine's
// own disk, power-loss.test.ts on the layer that forgets unsynced writes): hold
// tide-update.service at a named point of each phase (TIDE_TEST_HANG_AT, set in PID
// 1's environment, so gone after the cut), cut the power, boot, and check that
// tide-verify.service settled it on one consistent version.
import * as assert from 'uvu/assert';
import { setTimeout as delay } from 'node:timers/promises';
import type { ServiceBehaviour } from '../../scripts/lib/service-app.js';
import { waitFor, type DemoHost, type JournalLine } from './demo-host.js';
import { seededRandom } from '../../scripts/lib/seeded-random.js';

const messages = (lines: JournalLine[]) => lines.map((line) => line.message).join('\n');

/** Start tide-update.service held at `hangAt`; resolves once tide says it is there. */
export async function updateHeldAt(host: DemoHost, hangAt: string): Promise<void> {
  await host.machine.run(['systemctl', 'set-environment', `TIDE_TEST_HANG_AT=${hangAt}`]);
  await host.machine.run(['systemctl', 'start', '--no-block', 'tide-update.service']);
  const said = `test hook: hanging at ${hangAt}`;
  const journalTail = async () => (await host.machine.run(['journalctl', '-b', '-u', 'tide-update.service', '-o', 'cat', '--no-pager', '-n', '20'])).stdout;
  try {
    await waitFor(`tide-update at ${hangAt}`, async () => (await journalTail()).includes(said), 60_000);
  } catch (err) {
    const unit = (await host.machine.run(['systemctl', 'status', '--no-pager', '-n', '0', 'tide-update.service'])).stdout;
    throw new Error(`${(err as Error).message}\n${unit}\n${await journalTail()}`);
  }
}

/** What must hold after any power cut and boot: settled, one version everywhere, tide status fine. */
export async function assertSettled(host: DemoHost, expected: string[]): Promise<string> {
  const state = await host.machine.waitBooted();
  if (state !== 'running') {
    // Name the unit that failed and what it said, so a degraded boot explains itself.
    const failed = (await host.machine.run(['systemctl', '--failed', '--no-legend', '--plain'])).stdout.trim();
    const journal = (await host.machine.run(['journalctl', '-b', '-u', 'tide-verify.service', '-o', 'cat', '--no-pager', '-n', '30'])).stdout;
    assert.unreachable(`the system is ${state} after the boot; failed units: ${failed || 'none'}\n${journal}`);
  }
  assert.is(host.marker(), null, 'a marker is left after tide-verify.service');
  const status = await host.status();
  assert.is(status.pending, null);
  assert.ok(status.current !== null && expected.includes(status.current), `current is ${status.current}, expected one of ${expected.join(', ')}`);
  assert.equal(await host.serving(), { api: `demo ${status.current}`, web: `<h1>demo ${status.current}</h1>` }, 'nginx serves another version than current');
  return status.current!;
}

export interface PhaseCase {
  phase: string;
  hangAt: (version: string) => string;
  behaviour: ServiceBehaviour;
  /** Which version serves after the boot. */
  settlesOn: 'new' | 'old';
  /** What tide-verify.service logs at the boot (a line's event and a pattern). */
  verifyLogs: { event: string; message: RegExp } | null;
}

export const phases: PhaseCase[] = [
  { phase: 'staging', hangAt: () => 'after-staging', behaviour: 'good', settlesOn: 'old', verifyLogs: null },
  { phase: 'swapping', hangAt: () => 'after-marker', behaviour: 'good', settlesOn: 'new', verifyLogs: { event: 'commit', message: /committed/ } },
  { phase: 'swapping (between the two flips)', hangAt: () => 'between-flips', behaviour: 'good', settlesOn: 'new', verifyLogs: { event: 'commit', message: /committed/ } },
  { phase: 'restarting', hangAt: () => 'after-restart', behaviour: 'good', settlesOn: 'new', verifyLogs: { event: 'commit', message: /committed/ } },
  { phase: 'probing a healthy release', hangAt: (v) => `probing-${v}`, behaviour: 'good', settlesOn: 'new', verifyLogs: { event: 'commit', message: /committed/ } },
  { phase: 'probing a broken release', hangAt: (v) => `probing-${v}`, behaviour: 'crash', settlesOn: 'old', verifyLogs: { event: 'rollback', message: /rolled back to/ } },
  { phase: 'committing', hangAt: () => 'before-commit', behaviour: 'good', settlesOn: 'new', verifyLogs: { event: 'commit', message: /committed/ } },
  { phase: 'rolling back', hangAt: () => 'rollback-after-flip', behaviour: 'crash', settlesOn: 'old', verifyLogs: { event: 'rollback', message: /rolled back to/ } },
];

/** One row of the matrix: `version` (new) updated over the current one, cut at the row's point. */
export async function cutInPhase(host: DemoHost, c: PhaseCase, version: string): Promise<void> {
  const old = (await host.status()).current!;
  await host.publish(version, c.behaviour);
  await updateHeldAt(host, c.hangAt(version));
  await host.machine.powerCut();
  await host.machine.boot();
  const serving = await assertSettled(host, [c.settlesOn === 'new' ? version : old]);
  const state = host.stateJson();
  if (c.behaviour === 'good') assert.not.ok(state.bad.includes(version), `healthy ${version} marked bad after a power cut`);
  else assert.ok(state.bad.includes(version), `broken ${version} not marked bad`);
  const verify = await host.journal('tide-verify.service');
  if (c.verifyLogs) {
    const { event, message } = c.verifyLogs;
    assert.ok(verify.some((line) => line.event === 'verify' && /settling the unfinished update/.test(line.message)), messages(verify));
    assert.ok(verify.some((line) => line.event === event && message.test(line.message)), `no ${event} line: ${messages(verify)}`);
    assert.is(state.history.at(-1)?.to, version);
    assert.is(state.history.at(-1)?.result, c.settlesOn === 'new' ? 'committed' : 'rolled-back');
  } else {
    assert.not.ok(verify.some((line) => line.event === 'verify' && /settling/.test(line.message)), messages(verify));
  }
  assert.is(serving, c.settlesOn === 'new' ? version : old);
}

/** `iterations` update cycles (healthy or broken at random) cut at a random moment; the invariant after each boot. */
export async function randomCuts(host: DemoHost, iterations: number, seed: number, nextVersion: () => string): Promise<void> {
  const random = seededRandom(seed);
  for (let i = 0; i < iterations; i++) {
    const old = (await host.status()).current!;
    const version = nextVersion();
    const behaviour: ServiceBehaviour = random() < 0.5 ? 'good' : 'crash';
    // A healthy cycle takes about 3 s here (2 s stable window), a broken one about 5 s.
    const cutAfterMs = Math.round(random() * (behaviour === 'good' ? 4_000 : 7_000));
    const what = `iteration ${i + 1}/${iterations} (TIDE_HOSTLAB_SEED=${seed}): ${version} ${behaviour}, cut after ${cutAfterMs} ms`;
    await host.publish(version, behaviour);
    await host.machine.run(['systemctl', 'start', '--no-block', 'tide-update.service']);
    await delay(cutAfterMs);
    await host.machine.powerCut();
    await host.machine.boot();
    try {
      const serving = await assertSettled(host, [old, version]);
      if (behaviour === 'good') assert.not.ok(host.stateJson().bad.includes(version), 'a healthy release marked bad');
      if (behaviour === 'crash') assert.is(serving, old, 'a broken release serves');
    } catch (err) {
      throw new Error(`${what}: ${(err as Error).message}`);
    }
  }
}
