// test-needs: nginx, network
// End to end: the real tide binary, a real service behind a real nginx, real releases.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, mkdirSync, readlinkSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHostFixture } from '../helpers/host-fixture.js';

const test = suite('update end to end');

test('first install, then a healthy update commits', async () => {
  const host = await createHostFixture();
  try {
    await host.publish('1.0.0');
    const first = await host.tide(['update']);
    assert.is(first.code, 0, first.stderr);
    assert.is(await host.serving(), 'demo 1.0.0');
    await host.publish('1.1.0');
    const check = await host.tide(['check']);
    assert.is(check.code, 100, check.stderr);
    const second = await host.tide(['update']);
    assert.is(second.code, 0, second.stderr);
    assert.is(await host.serving(), 'demo 1.1.0');
    assert.is(readlinkSync(join(host.stateDir, 'current')), 'versions/1.1.0');
    assert.is(readlinkSync(join(host.stateDir, 'previous')), 'versions/1.0.0');
    assert.is(readlinkSync(host.linkPath), join(host.stateDir, 'current', 'bin/demo'));
    assert.not.ok(existsSync(join(host.stateDir, 'pending.json')));
    const again = await host.tide(['update']);
    assert.is(again.code, 0);
    assert.match(again.stdout, /up to date/);
    const history = host.stateJson().history;
    assert.equal(history.map((h) => [h.from, h.to, h.result]), [[null, '1.0.0', 'committed'], ['1.0.0', '1.1.0', 'committed']]);
  } finally {
    await host.cleanup();
  }
});

for (const behaviour of ['crash', '500', 'hang'] as const) {
  test(`a version that ${behaviour === 'crash' ? 'exits at start' : behaviour === '500' ? 'answers 500' : 'hangs'} is rolled back (exit 5) and remembered as bad`, async () => {
    const host = await createHostFixture({ health: `[health]\ntimeout = "20s"\ninterval = "200ms"\nstable = "1s"\n` });
    try {
      await host.publish('1.0.0');
      assert.is((await host.tide(['update'])).code, 0);
      await host.publish('1.1.0', behaviour);
      const started = Date.now();
      const run = await host.tide(['update']);
      const took = Date.now() - started;
      assert.is(run.code, 5, run.stdout + run.stderr);
      assert.is(await host.serving(), 'demo 1.0.0');
      assert.is(readlinkSync(join(host.stateDir, 'current')), 'versions/1.0.0');
      assert.not.ok(existsSync(join(host.stateDir, 'pending.json')));
      assert.equal(host.stateJson().bad, ['1.1.0']);
      if (behaviour === 'crash') assert.ok(took < 10_000, `rolled back in ${took} ms, the health timeout is 20 s`);
      // SPEC design.md#rollback: unattended updates skip a bad version until --force.
      const skip = await host.tide(['update']);
      assert.is(skip.code, 0);
      assert.match(skip.stdout, /failed its health check/);
      assert.is(await host.serving(), 'demo 1.0.0');
    } finally {
      await host.cleanup();
    }
  });
}

test('a staging whose sync -f fails is made durable file by file, says so, and installs', async () => {
  const host = await createHostFixture();
  try {
    // A `sync` first on PATH that cannot sync (an old coreutils, a file system that refuses syncfs).
    const bin = join(host.stateDir, '..', 'no-syncfs-bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'sync'), '#!/bin/sh\necho "sync: error syncing \'$2\': Input/output error" >&2\nexit 1\n');
    chmodSync(join(bin, 'sync'), 0o755);
    await host.publish('1.0.0');
    const run = await host.tide(['update'], { PATH: `${bin}:${process.env.PATH}` });
    assert.is(run.code, 0, run.stderr);
    assert.match(run.stderr, /sync -f \S+ failed \(sync: error syncing '\S+': Input\/output error\); fsyncing each staged file instead/);
    assert.is(readlinkSync(join(host.stateDir, 'current')), 'versions/1.0.0');
    assert.is(await host.serving(), 'demo 1.0.0');
  } finally {
    await host.cleanup();
  }
});

test('a version that exits at start fails fast even when another probe keeps passing', async () => {
  const host = await createHostFixture({
    health: `[health]\ntimeout = "30s"\ninterval = "200ms"\nstable = "1s"\n\n[[health.probe]]\ntype = "command"\nargv = ["true"]\n`,
  });
  try {
    await host.publish('1.0.0');
    assert.is((await host.tide(['update'])).code, 0);
    await host.publish('1.1.0', 'crash');
    const started = Date.now();
    const run = await host.tide(['update']);
    const took = Date.now() - started;
    assert.is(run.code, 5, run.stdout + run.stderr);
    assert.match(run.stdout, /nothing answered for 3\.0s after the restart/);
    assert.ok(took < 12_000, `rolled back in ${took} ms, the health timeout is 30 s`);
    assert.is(await host.serving(), 'demo 1.0.0');
  } finally {
    await host.cleanup();
  }
});

test('a newer release after a bad one installs; status and history tell the story', async () => {
  const host = await createHostFixture();
  try {
    await host.publish('1.0.0');
    await host.tide(['update']);
    await host.publish('1.1.0', 'crash');
    const bad = await host.tide(['update']);
    assert.is(bad.code, 5, bad.stdout + bad.stderr);
    await host.publish('1.2.0');
    const good = await host.tide(['update']);
    assert.is(good.code, 0, good.stdout + good.stderr);
    assert.is(await host.serving(), 'demo 1.2.0');
    const status = JSON.parse((await host.tide(['status', '--json'])).stdout);
    assert.is(status.current, '1.2.0');
    assert.is(status.previous, '1.0.0');
    assert.is(status.pending, null);
    assert.equal(status.bad, ['1.1.0']);
    assert.is(status.lastResult, 'committed');
    const history = JSON.parse((await host.tide(['history', '--json'])).stdout);
    assert.equal(history.map((h: { result: string }) => h.result), ['committed', 'rolled-back', 'committed']);
    assert.match(history[1].reason, /1\.1\.0|nothing answered|502|refused/);
    // keep = 1: current and previous stay, and the newest good one beyond them: there is none,
    // as 1.1.0 failed here (SPEC host-layout.md#kept-versions).
    assert.equal(readdirSync(join(host.stateDir, 'versions')).sort(), ['1.0.0', '1.2.0']);
  } finally {
    await host.cleanup();
  }
});

test('manual rollback goes back to previous, verified; without previous it refuses', async () => {
  const host = await createHostFixture();
  try {
    await host.publish('1.0.0');
    await host.tide(['update']);
    const none = await host.tide(['rollback']);
    assert.is(none.code, 2);
    assert.match(none.stderr, /no previous version/);
    await host.publish('1.1.0');
    await host.tide(['update']);
    const back = await host.tide(['rollback']);
    assert.is(back.code, 0, back.stderr);
    assert.is(await host.serving(), 'demo 1.0.0');
    assert.is(readlinkSync(join(host.stateDir, 'current')), 'versions/1.0.0');
    assert.is(readlinkSync(join(host.stateDir, 'previous')), 'versions/1.1.0');
  } finally {
    await host.cleanup();
  }
});

test('a first install that is unhealthy has nothing to roll back to: exit 6', async () => {
  const host = await createHostFixture();
  try {
    await host.publish('1.0.0', 'crash');
    const run = await host.tide(['update']);
    assert.is(run.code, 6, run.stderr);
    assert.match(run.stdout + run.stderr, /no previous version to roll back to/);
    assert.not.ok(existsSync(join(host.stateDir, 'pending.json')));
  } finally {
    await host.cleanup();
  }
});

test('a second concurrent tide exits 7 naming the holder', async () => {
  const host = await createHostFixture({ health: `[health]\ntimeout = "8s"\ninterval = "200ms"\nstable = "3s"\n` });
  try {
    await host.publish('1.0.0');
    const first = host.tide(['update']);
    await new Promise((r) => setTimeout(r, 1500));
    const second = await host.tide(['update']);
    assert.is(second.code, 7, second.stderr);
    assert.match(second.stderr, /pid \d+ \(tide update/);
    assert.is((await first).code, 0);
  } finally {
    await host.cleanup();
  }
});

test.run();
