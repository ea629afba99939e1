// test-needs: systemd, nginx
// Power cuts through the real units: tide-update.service is held at a named point of
// each phase (TIDE_TEST_HANG_AT, set in PID 1's environment, so gone after the cut),
// every process of the machine is frozen and its init killed, the machine boots
// again, and tide-verify.service settles what was pending. Then one consistent
// version serves (web and API), nothing is pending, and a healthy release is never
// marked bad for a power cut. Last, cuts at random moments of update cycles
// (TIDE_HOSTLAB_ITERATIONS, default 5; TIDE_HOSTLAB_SEED to replay a run).
import { test } from 'uvu';
import { createDemoHost, type DemoHost } from './demo-host.js';
import { cutInPhase, phases, randomCuts } from './power-cut-matrix.js';

let host: DemoHost;
let released = 0;

const nextVersion = () => `2.0.${++released}`;

test.before(async () => {
  host = await createDemoHost({ name: 'cuts' });
  await host.publish('1.0.0');
  const first = await host.startUnit('tide-update.service');
  if (first.exitStatus !== 0) throw new Error(`the first install exited ${first.exitStatus}`);
});

test.after(async () => {
  await host?.cleanup();
});

for (const c of phases) {
  test(`power cut while ${c.phase} (${c.behaviour} release): boot settles on the ${c.settlesOn} version`, async () => {
    await cutInPhase(host, c, nextVersion());
  });
}

test('power cuts at random moments of update cycles: always one version, settled, never a healthy one marked bad', async () => {
  const iterations = Number(process.env.TIDE_HOSTLAB_ITERATIONS ?? 5);
  const seed = Number(process.env.TIDE_HOSTLAB_SEED ?? Date.now() % 1_000_000);
  process.stderr.write(`random power cuts: ${iterations} iterations, TIDE_HOSTLAB_SEED=${seed}\n`);
  await randomCuts(host, iterations, seed, nextVersion);
});

test.run();
