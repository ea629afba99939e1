// test-needs: nginx
// After the first change to the live system, tide never exits leaving a half-swap.
// What would fail only after `current` flipped is refused in the plan (a [[link]] path
// that is a real directory, a link directory tide may not write); any error from the
// marker on takes the rollback path (or leaves a marker `tide verify` settles), and a
// release is marked bad only for its own health, never for tide's or the host's error.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import type { ServiceBehaviour } from '../../scripts/lib/service-app.js';
import { assertRefused, assertUntouched, snapshotHost } from '../cli/refusal-checks.js';

const test = suite('no half-swap');
const marker = (host: HostFixture) => join(host.stateDir, 'pending.json');
const current = (host: HostFixture) => readlinkSync(join(host.stateDir, 'current'));
const webLink = (host: HostFixture) => join(host.dir, 'srv', 'demo-web');

async function hostOn100(): Promise<HostFixture> {
  const host = await createHostFixture({ webUi: true });
  await host.publish('1.0.0');
  const first = await host.tide(['update']);
  assert.is(first.code, 0, first.stderr);
  return host;
}

test('a [[link]] path that is a real directory is refused before anything is fetched or swapped', async () => {
  const host = await hostOn100();
  try {
    // Someone "fixed" the web UI by copying it in place of tide's symlink.
    rmSync(webLink(host));
    mkdirSync(webLink(host));
    writeFileSync(join(webLink(host), 'index.html'), '<h1>by hand</h1>\n');
    await host.publish('1.1.0');
    const before = await snapshotHost(host);
    const run = await host.tide(['update']);
    assertRefused(run, { exit: 3, code: 'link-path', message: /expected .*srv\/demo-web to be absent or a symlink, found a directory/, file: webLink(host) });
    await assertUntouched(host, before, { pointerAccepted: true });
    assert.not.ok(existsSync(join(host.stateDir, 'versions', '1.1.0')), 'nothing staged');
    assert.not.ok(existsSync(join(host.stateDir, 'artifacts', '1.1.0')), 'nothing downloaded');
    assert.is(readFileSync(join(webLink(host), 'index.html'), 'utf8'), '<h1>by hand</h1>\n', 'what tide did not make is left alone');
    assert.equal(host.stateJson().bad, [], 'the release is not blamed');
  } finally {
    await host.cleanup();
  }
});

test('a new [[link]] in a directory on a read-only mount is refused before the swap (EROFS)', async () => {
  assert.is(process.getuid?.(), 0, 'this test bind-mounts, as root: the test line runs as root');
  const host = await hostOn100();
  const srv = join(host.dir, 'srv');
  try {
    // The link must be made anew (as for a [[link]] just added to the config), where tide may not write.
    rmSync(webLink(host));
    execFileSync('mount', ['--bind', srv, srv]);
    execFileSync('mount', ['-o', 'remount,bind,ro', srv]);
    await host.publish('1.1.0');
    const run = await host.tide(['update']);
    assertRefused(run, { exit: 3, code: 'link-path', message: /expected to be able to write .*srv to make the link .*demo-web, found EROFS; .*re-run scripts\/install\.sh/, file: webLink(host) });
    assert.is(current(host), 'versions/1.0.0');
    assert.is(await host.serving(), 'demo 1.0.0');
    assert.not.ok(existsSync(marker(host)));
    assert.equal(host.stateJson().bad, []);
    execFileSync('umount', [srv]);
    const writable = await host.tide(['update']);
    assert.is(writable.code, 0, `once writable, the same update goes through: ${writable.stderr}`);
    assert.is(await host.servingUi(), '<h1>demo 1.1.0</h1>');
  } finally {
    try { execFileSync('umount', [srv]); } catch { /* not mounted */ }
    await host.cleanup();
  }
});

interface ThrowCase {
  at: string;
  behaviour: ServiceBehaviour;
  exit: number;
  /** The run's marker afterwards (null: none), and what `tide verify` then exits with. */
  markerPhase: string | null;
  verifyExit: number;
  bad: string[];
}

// "Error in X" for each phase: a plain Error thrown at each point, as a bug or a failing host call would.
const throwCases: ThrowCase[] = [
  { at: 'after-staging', behaviour: 'good', exit: 1, markerPhase: null, verifyExit: 0, bad: [] },
  { at: 'after-marker', behaviour: 'good', exit: 5, markerPhase: null, verifyExit: 0, bad: [] },
  { at: 'between-flips', behaviour: 'good', exit: 5, markerPhase: null, verifyExit: 0, bad: [] },
  { at: 'after-restart', behaviour: 'good', exit: 5, markerPhase: null, verifyExit: 0, bad: [] },
  { at: 'probing-1.1.0', behaviour: 'good', exit: 5, markerPhase: null, verifyExit: 0, bad: [] },
  { at: 'after-probe', behaviour: 'good', exit: 5, markerPhase: null, verifyExit: 0, bad: [] },
  // The release itself is broken; tide then fails in the middle of its rollback: exit 6 with
  // the marker kept, and `tide verify` redoes the rollback (and blames the release).
  { at: 'rollback-after-flip', behaviour: 'crash', exit: 6, markerPhase: 'rolling-back', verifyExit: 5, bad: ['1.1.0'] },
];

for (const c of throwCases) {
  test(`an error at ${c.at} (${c.behaviour} release): exit ${c.exit}, 1.0.0 serves, bad ${JSON.stringify(c.bad)}`, async () => {
    const host = await hostOn100();
    try {
      await host.publish('1.1.0', c.behaviour);
      const run = await host.tide(['update'], { TIDE_TEST_THROW_AT: c.at });
      assert.is(run.code, c.exit, run.stdout + run.stderr);
      assert.match(run.stderr + run.stdout, new RegExp(`injected failure at ${c.at}`));
      assert.not.match(run.stderr, /node:internal|at .*\.js:\d+/, 'no stack trace');
      if (c.markerPhase === null) assert.not.ok(existsSync(marker(host)), 'no marker left');
      else assert.is(JSON.parse(readFileSync(marker(host), 'utf8')).phase, c.markerPhase);
      if (c.markerPhase === null) {
        assert.is(current(host), 'versions/1.0.0');
        assert.is(await host.serving(), 'demo 1.0.0');
        assert.is(await host.servingUi(), '<h1>demo 1.0.0</h1>', 'web UI and API on the same version');
      }
      const verify = await host.tide(['verify']);
      assert.is(verify.code, c.verifyExit, verify.stdout + verify.stderr);
      assert.is(current(host), 'versions/1.0.0');
      assert.is(await host.serving(), 'demo 1.0.0');
      assert.is(await host.servingUi(), '<h1>demo 1.0.0</h1>');
      assert.not.ok(existsSync(marker(host)));
      assert.equal(host.stateJson().bad, c.bad, 'a release is marked bad only for its own health');
      if (c.at === 'after-staging') assert.not.ok(existsSync(join(host.stateDir, 'versions', '1.1.0')), 'the staged version is removed');
    } finally {
      await host.cleanup();
    }
  });
}

test.run();
