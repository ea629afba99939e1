// test-needs: nginx, network
// SPEC host-layout.md#a-damaged-pendingjson: a real `tide update` is killed with SIGKILL
// in each phase, its pending.json is then damaged (cut short, an unknown phase, missing
// fields, empty, another schema), and `tide verify` settles the host from what is on
// disk: never exit 1, one warning line, the damaged marker kept aside, a version marked
// bad only for its own failed probe.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHostFixture, type HostFixture, type TideRun } from '../helpers/host-fixture.js';
import type { ServiceBehaviour } from '../../scripts/lib/service-app.js';

const test = suite('damaged pending marker');

type Damage = 'cut before the phase' | 'unknown phase' | 'missing fields' | 'empty' | 'schema 3';

function damaged(text: string, damage: Damage): string {
  const marker = JSON.parse(text);
  switch (damage) {
    case 'cut before the phase': return text.slice(0, text.indexOf('"phase"'));
    case 'unknown phase': return JSON.stringify({ ...marker, phase: 'exploding' });
    case 'missing fields': return JSON.stringify({ ...marker, from: undefined, previousBefore: undefined, deadline: undefined });
    case 'empty': return '';
    case 'schema 3': return JSON.stringify({ ...marker, schema: 3 });
  }
}

interface Case {
  killAt: string;
  behaviour: ServiceBehaviour;
  /** The phase the marker names after the kill. */
  phase: string;
  damage: Damage;
  verifyExit: number;
  settlesOn: '1.0.0' | '1.1.0';
  bad: string[];
  /** What the warning line says tide does. */
  says: RegExp;
}

const resumes = /current names 1\.1\.0: resuming the update .*→ 1\.1\.0 from swapping/;
const settlesOnOld = /settling on 1\.0\.0, which current names .*; 1\.1\.0 is not marked bad|settling on 1\.0\.0, which current names .*; the version being installed is not marked bad/;

const cases: Case[] = [
  { killAt: 'after-marker', behaviour: 'good', phase: 'swapping', damage: 'cut before the phase', verifyExit: 5, settlesOn: '1.0.0', bad: [], says: settlesOnOld },
  { killAt: 'between-flips', behaviour: 'good', phase: 'swapping', damage: 'unknown phase', verifyExit: 5, settlesOn: '1.0.0', bad: [], says: settlesOnOld },
  { killAt: 'after-restart', behaviour: 'good', phase: 'restarting', damage: 'missing fields', verifyExit: 0, settlesOn: '1.1.0', bad: [], says: resumes },
  { killAt: 'probing-1.1.0', behaviour: 'good', phase: 'probing', damage: 'empty', verifyExit: 0, settlesOn: '1.1.0', bad: [], says: resumes },
  // Its own probe fails again after the resume: that, not the damage, makes it bad.
  { killAt: 'probing-1.1.0', behaviour: '500', phase: 'probing', damage: 'schema 3', verifyExit: 5, settlesOn: '1.0.0', bad: ['1.1.0'], says: resumes },
  // A good marker would have marked 1.1.0 bad here; with the reason lost, it is not.
  { killAt: 'rollback-after-flip', behaviour: 'crash', phase: 'rolling-back', damage: 'unknown phase', verifyExit: 5, settlesOn: '1.0.0', bad: [], says: settlesOnOld },
];

const markerPath = (host: HostFixture) => join(host.stateDir, 'pending.json');
const brokenMarkers = (host: HostFixture) => readdirSync(host.stateDir).filter((n) => n.startsWith('pending.json.broken-'));
const warnings = (run: TideRun) => run.stderr.split('\n').filter((line) => line.startsWith('tide: warn: pending.json') || line.includes('settling the unfinished'));

async function installFirst(host: HostFixture): Promise<void> {
  await host.publish('1.0.0');
  const first = await host.tide(['update']);
  assert.is(first.code, 0, first.stderr);
}

/** `tide verify` after the damage: the exit code, the links, what is served, the one warning line, the kept file. */
async function verifySettles(host: HostFixture, broken: string, expect: Pick<Case, 'verifyExit' | 'settlesOn' | 'bad' | 'says'>): Promise<void> {
  const verify = await host.tide(['verify']);
  assert.is(verify.code, expect.verifyExit, verify.stdout + verify.stderr);
  assert.is(readlinkSync(join(host.stateDir, 'current')), `versions/${expect.settlesOn}`);
  assert.is(await host.serving(), `demo ${expect.settlesOn}`);
  assert.not.ok(existsSync(markerPath(host)), 'the marker is gone');
  const lines = warnings(verify);
  assert.is(lines.length, 1, `one warning line about the marker:\n${verify.stderr}`);
  assert.match(lines[0]!, /^tide: warn: pending\.json .*; kept as pending\.json\.broken-\d{8}T\d{6}\.\d{3}Z; /);
  assert.match(lines[0]!, expect.says);
  assert.equal(brokenMarkers(host).map((n) => readFileSync(join(host.stateDir, n), 'utf8')), [broken], 'the damaged marker is kept as it was');
  assert.equal(host.stateJson().bad, expect.bad);
  const again = await host.tide(['verify']);
  assert.equal([again.code, warnings(again)], [0, []], 'a second verify has nothing to do');
}

for (const c of cases) {
  test(`killed at ${c.killAt} (${c.phase}), marker ${c.damage}: verify exits ${c.verifyExit} on ${c.settlesOn}`, async () => {
    const host = await createHostFixture();
    try {
      await installFirst(host);
      await host.publish('1.1.0', c.behaviour);
      const killed = await host.tide(['update'], { TIDE_TEST_CRASH_AT: c.killAt });
      assert.is(killed.signal, 'SIGKILL', `expected tide to be killed at ${c.killAt}: ${killed.stdout}${killed.stderr}`);
      const text = readFileSync(markerPath(host), 'utf8');
      assert.is(JSON.parse(text).phase, c.phase);
      const broken = damaged(text, c.damage);
      writeFileSync(markerPath(host), broken);
      const status = JSON.parse((await host.tide(['status', '--json'])).stdout);
      assert.equal([status.pending?.phase, status.damaged], ['damaged', ['pending.json']]);

      await verifySettles(host, broken, c);
      if (c.settlesOn === '1.0.0' && c.bad.length === 0) {
        const update = await host.tide(['update']);
        assert.is(update.code, c.behaviour === 'good' ? 0 : 5, `the next update tries 1.1.0 again: ${update.stderr}`);
      }
    } finally {
      await host.cleanup();
    }
  });
}

test('a damaged marker left in committing (after history was written): verify commits once, exit 0', async () => {
  const host = await createHostFixture();
  try {
    await installFirst(host);
    const startedAt = new Date(Date.now() - 1000).toISOString();
    await host.publish('1.1.0');
    assert.is((await host.tide(['update'])).code, 0);
    const history = host.stateJson().history.length;
    // As if killed between recording the commit and removing the marker.
    const marker = { schema: 1, app: 'demo', kind: 'update', from: '1.0.0', to: '1.1.0', previousBefore: null, phase: 'committing', deadline: startedAt, attempt: 1, startedAt };
    const broken = damaged(JSON.stringify(marker, null, 2), 'schema 3');
    writeFileSync(markerPath(host), broken);
    await verifySettles(host, broken, { verifyExit: 0, settlesOn: '1.1.0', bad: [], says: resumes });
    assert.is(host.stateJson().history.length, history, 'the commit is recorded once');
  } finally {
    await host.cleanup();
  }
});

test('a damaged marker with nothing installed and no version named settles nothing (exit 0)', async () => {
  const host = await createHostFixture();
  try {
    await host.publish('1.0.0');
    assert.is((await host.tide(['check'])).code, 100);
    writeFileSync(markerPath(host), '{"schema":1,"app":"de');
    const verify = await host.tide(['verify']);
    assert.is(verify.code, 0, verify.stderr);
    assert.match(warnings(verify)[0] ?? '', /nothing is installed and the marker names no installed version: nothing to settle/);
    assert.not.ok(existsSync(markerPath(host)));
    assert.is((await host.tide(['update'])).code, 0, 'the first install proceeds');
  } finally {
    await host.cleanup();
  }
});

test.run();
