// test-needs: nginx, network
// Crash safety, proven: a real `tide update` is killed with SIGKILL at every phase
// boundary, then `tide verify` settles it. Afterwards `current` names the old or the
// new version, that version is the one serving through nginx, the marker is gone,
// and no staging is left.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import type { ServiceBehaviour } from '../../scripts/lib/service-app.js';

const test = suite('crash matrix');

interface Case {
  killAt: string;
  behaviour: ServiceBehaviour;
  /** Phase the marker names after the kill, or null for no marker. */
  markerPhase: string | null;
  verifyExit: number;
  settlesOn: '1.0.0' | '1.1.0';
}

const cases: Case[] = [
  { killAt: 'after-staging', behaviour: 'good', markerPhase: null, verifyExit: 0, settlesOn: '1.0.0' },
  { killAt: 'after-marker', behaviour: 'good', markerPhase: 'swapping', verifyExit: 0, settlesOn: '1.1.0' },
  { killAt: 'between-flips', behaviour: 'good', markerPhase: 'swapping', verifyExit: 0, settlesOn: '1.1.0' },
  { killAt: 'after-restart', behaviour: 'good', markerPhase: 'restarting', verifyExit: 0, settlesOn: '1.1.0' },
  { killAt: 'probing-1.1.0', behaviour: 'good', markerPhase: 'probing', verifyExit: 0, settlesOn: '1.1.0' },
  { killAt: 'probing-1.1.0', behaviour: '500', markerPhase: 'probing', verifyExit: 5, settlesOn: '1.0.0' },
  { killAt: 'after-marker', behaviour: 'crash', markerPhase: 'swapping', verifyExit: 5, settlesOn: '1.0.0' },
  { killAt: 'rollback-after-flip', behaviour: 'crash', markerPhase: 'rolling-back', verifyExit: 5, settlesOn: '1.0.0' },
  { killAt: 'probing-1.0.0', behaviour: 'crash', markerPhase: 'rolling-back', verifyExit: 5, settlesOn: '1.0.0' },
];

async function installFirst(host: HostFixture): Promise<void> {
  await host.publish('1.0.0');
  const first = await host.tide(['update']);
  assert.is(first.code, 0, first.stderr);
}

const marker = (host: HostFixture) => join(host.stateDir, 'pending.json');

for (const c of cases) {
  test(`killed at ${c.killAt} (${c.behaviour} release): verify exits ${c.verifyExit} on ${c.settlesOn}`, async () => {
    const host = await createHostFixture();
    try {
      await installFirst(host);
      await host.publish('1.1.0', c.behaviour);
      const killed = await host.tide(['update'], { TIDE_TEST_CRASH_AT: c.killAt });
      assert.is(killed.signal, 'SIGKILL', `expected tide to be killed at ${c.killAt}: ${killed.stdout}${killed.stderr}`);
      if (c.markerPhase === null) assert.not.ok(existsSync(marker(host)));
      else assert.is(JSON.parse(readFileSync(marker(host), 'utf8')).phase, c.markerPhase);
      const status = JSON.parse((await host.tide(['status', '--json'])).stdout);
      assert.is(status.pending?.phase ?? null, c.markerPhase);

      const verify = await host.tide(['verify']);
      assert.is(verify.code, c.verifyExit, verify.stdout + verify.stderr);
      assert.is(readlinkSync(join(host.stateDir, 'current')), `versions/${c.settlesOn}`);
      assert.is(await host.serving(), `demo ${c.settlesOn}`);
      assert.not.ok(existsSync(marker(host)), 'the marker is gone');
      assert.ok(!existsSync(join(host.stateDir, 'staging')) || readdirSync(join(host.stateDir, 'staging')).length === 0, 'no staging left');
      const again = await host.tide(['verify']);
      assert.is(again.code, 0, 'a second verify has nothing to do');
    } finally {
      await host.cleanup();
    }
  });
}

test('SIGTERM while probing: tide undoes the swap, exits, and does not mark the version bad', async () => {
  const host = await createHostFixture({ health: `[health]\ntimeout = "20s"\ninterval = "200ms"\nstable = "10s"\n` });
  try {
    await installFirst(host);
    await host.publish('1.1.0');
    const { spawn } = await import('node:child_process');
    const { tideBin } = await import('../helpers/host-fixture.js');
    const child = spawn(process.execPath, [tideBin, '--config', host.configPath, 'update'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let sent = false;
    child.stderr.on('data', (d) => {
      err += d;
      if (!sent && /probing 1\.1\.0/.test(err)) {
        sent = true;
        child.kill('SIGTERM');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.is(code, 5, err);
    assert.match(err, /SIGTERM/);
    assert.is(readlinkSync(join(host.stateDir, 'current')), 'versions/1.0.0');
    assert.is(await host.serving(), 'demo 1.0.0');
    assert.not.ok(existsSync(marker(host)));
    assert.equal(host.stateJson().bad, []);
  } finally {
    await host.cleanup();
  }
});

test.run();
