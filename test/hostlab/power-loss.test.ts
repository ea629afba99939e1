// test-needs: systemd, nginx
// Power loss, not only kill -9: the machine's /var/lib/tide (tide's whole state: the
// versions, current and previous, the marker, state.json, the caches) is on
// scripts/hostlab/lazyfs.py, a FUSE layer that loses every write not fsynced when
// the power is cut. First a check that the layer really forgets (so the rest can
// fail); then the phase matrix of power-cuts.test.ts and random cuts on it: tide's
// write-temp, fsync, rename, fsync-dir must leave one consistent version after
// every cut, with nothing pending and no healthy release marked bad.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createDemoHost, type DemoHost } from './demo-host.js';
import { cutInPhase, phases, randomCuts } from './power-cut-matrix.js';

let host: DemoHost;
let released = 0;

const nextVersion = () => `3.0.${++released}`;

test.before(async () => {
  host = await createDemoHost({ name: 'loss', lazyfs: ['/var/lib/tide'] });
  await host.publish('1.0.0');
  const first = await host.startUnit('tide-update.service');
  if (first.exitStatus !== 0) throw new Error(`the first install exited ${first.exitStatus}`);
});

test.after(async () => {
  await host?.cleanup();
});

test('the layer forgets: after a power cut a file written and renamed without fsync is empty, an fsynced one intact', async () => {
  const write = (name: string, sync: boolean) => host.machine.run(['/usr/bin/node', '-e', `
    const fs = require('node:fs');
    const fd = fs.openSync('/var/lib/tide/${name}.tmp', 'w');
    fs.writeSync(fd, 'written before the cut\\n');
    if (${sync}) fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync('/var/lib/tide/${name}.tmp', '/var/lib/tide/${name}');`]);
  // tide's state (and what its units see) is on the layer, not on the machine's overlay.
  assert.equal((await host.machine.run(['findmnt', '-n', '-o', 'FSTYPE,SOURCE', '--target', '/var/lib/tide/demo/current'])).stdout.trim().split(/\s+/), ['fuse', 'lazyfs']);
  assert.is((await write('unsynced', false)).code, 0);
  assert.is((await write('synced', true)).code, 0);
  assert.is((await host.machine.sh('cat /var/lib/tide/unsynced')).stdout, 'written before the cut\n', 'read back before the cut');
  await host.machine.powerCut();
  await host.machine.boot();
  assert.is((await host.machine.sh('stat -c %s /var/lib/tide/unsynced')).stdout.trim(), '0');
  assert.is((await host.machine.sh('cat /var/lib/tide/synced')).stdout, 'written before the cut\n');
  await host.machine.sh('rm /var/lib/tide/unsynced /var/lib/tide/synced');
  // tide itself came through that cut (nothing was pending).
  assert.is((await host.status()).current, '1.0.0');
});

for (const c of phases) {
  test(`power loss while ${c.phase} (${c.behaviour} release): boot settles on the ${c.settlesOn} version`, async () => {
    await cutInPhase(host, c, nextVersion());
  });
}

test('power loss at random moments of update cycles: always one version, settled, never a healthy one marked bad', async () => {
  const iterations = Number(process.env.TIDE_HOSTLAB_ITERATIONS ?? 3);
  const seed = Number(process.env.TIDE_HOSTLAB_SEED ?? Date.now() % 1_000_000);
  process.stderr.write(`random power losses: ${iterations} iterations, TIDE_HOSTLAB_SEED=${seed}\n`);
  await randomCuts(host, iterations, seed, nextVersion);
});

test.run();
