// test-needs: network
// `tide daemon` for real: a child process on a cron of every second against a
// file:// mirror (the host fixture), a real service restarted by a real script.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHostFixture } from '../helpers/host-fixture.js';
import { runIntervals, startDaemon } from './daemon-process.js';
import { parseMetrics } from '../report/parse-metrics.js';

const test = suite('tide daemon');

const everySecond = (extra = '') => `
[schedule]
cron = "* * * * * *"
delay = "0s"
${extra}`;

test('runs every tick but never two at once, applies releases, and stops on SIGTERM with exit 0', async () => {
  // stable = 2s: an update run outlasts two ticks, so ticks must be skipped.
  const host = await createHostFixture({
    health: `[health]\ntimeout = "20s"\ninterval = "200ms"\nstable = "2s"\n`,
    extraConfig: `${everySecond()}\n[metrics]\ntextfile = "metrics.prom"\n`,
  });
  const daemon = startDaemon(host.configPath);
  try {
    await host.publish('1.0.0');
    await daemon.waitFor((l) => l.event === 'run-end' && l.result === 'committed' && l.to === '1.0.0', 'the first install');
    await host.publish('1.1.0');
    const committed = await daemon.waitFor((l) => l.event === 'run-end' && l.result === 'committed' && l.to === '1.1.0', 'the update to 1.1.0');
    assert.is(committed.from, '1.0.0');
    assert.is(committed.app, 'demo');
    assert.type(committed.durationMs, 'number');
    // A few quiet ticks: no-op runs.
    const upToDate = await daemon.waitFor((l) => l.event === 'run-end' && l.result === 'up-to-date' && (l.run ?? 0) > committed.run!, 'a no-op run');
    assert.is(upToDate.to, '1.1.0');
    const exit = await daemon.terminate();
    assert.equal(exit, { code: 0, signal: null }, daemon.other.join('\n'));

    assert.equal(daemon.other, [], 'every stderr line is JSON');
    const intervals = runIntervals(daemon.lines);
    assert.ok(intervals.length >= 4, `${intervals.length} runs`);
    const skipped = daemon.lines.filter((l) => l.event === 'run-skipped');
    assert.ok(skipped.length >= 1, 'ticks during a 2-second update were skipped');
    assert.ok(skipped.every((l) => intervals.some((i) => Date.parse(l.time) >= i.start && Date.parse(l.time) <= i.end + 1000)), 'a skipped tick falls inside a run');
    assert.not.ok(daemon.lines.some((l) => l.result === 'locked'), 'no run met the lock of another');
    // Every transaction line names the app; the first one is the settle at start.
    assert.ok(daemon.lines.every((l) => l.app === 'demo'), 'app on every line');
    assert.is(daemon.lines.find((l) => l.event === 'run-start')?.kind, 'settle');
    assert.is(daemon.lines.at(-1)?.event, 'daemon-stop');

    assert.is(readlinkSync(join(host.stateDir, 'current')), 'versions/1.1.0');
    assert.not.ok(existsSync(join(host.stateDir, 'pending.json')));
    assert.is(await host.serving(), 'demo 1.1.0');
    const metrics = parseMetrics(readFileSync(join(host.dir, 'metrics.prom'), 'utf8'));
    assert.is(metrics.get('tide_current_version_info{app="demo",version="1.1.0"}'), 1);
    assert.is(metrics.get('tide_updates_total{app="demo"}'), 2);
    assert.is(metrics.get('tide_pending{app="demo"}'), 0);
    assert.is(metrics.get('tide_last_result{app="demo",result="up-to-date"}'), 1);
  } finally {
    daemon.kill();
    await host.cleanup();
  }
});

test('SIGTERM in the middle of an update undoes it, leaves no marker, and exits 0', async () => {
  const host = await createHostFixture({ extraConfig: everySecond() });
  const daemon = { current: undefined as ReturnType<typeof startDaemon> | undefined };
  try {
    await host.publish('1.0.0');
    const first = await host.tide(['update']);
    assert.is(first.code, 0, first.stderr);
    // Now a long stability period: the daemon's update is still probing when SIGTERM comes.
    writeFileSync(host.configPath, readFileSync(host.configPath, 'utf8').replace(/stable = "1s"/, 'stable = "6s"').replace(/timeout = "8s"/, 'timeout = "30s"'));
    daemon.current = startDaemon(host.configPath);
    await host.publish('1.1.0');
    await daemon.current.waitFor((l) => l.event === 'probe' && l.to === '1.1.0', 'probing 1.1.0');
    assert.ok(existsSync(join(host.stateDir, 'pending.json')), 'the update is under way');
    const exit = await daemon.current.terminate();
    assert.equal(exit, { code: 0, signal: null });
    const end = daemon.current.lines.find((l) => l.event === 'run-end' && l.to === '1.1.0');
    assert.is(end?.result, 'rolled-back');
    assert.match(String(end?.reason), /SIGTERM/);
    assert.not.ok(existsSync(join(host.stateDir, 'pending.json')), 'no marker left');
    assert.is(readlinkSync(join(host.stateDir, 'current')), 'versions/1.0.0');
    assert.is(await host.serving(), 'demo 1.0.0');
    // Asked to stop is not unhealthy: the version is not marked bad.
    assert.equal(host.stateJson().bad, []);
  } finally {
    daemon.current?.kill();
    await host.cleanup();
  }
});

test('settles a pending update left by a crash before its first tick', async () => {
  const host = await createHostFixture({ extraConfig: everySecond() });
  const daemon = { current: undefined as ReturnType<typeof startDaemon> | undefined };
  try {
    await host.publish('1.0.0');
    assert.is((await host.tide(['update'])).code, 0);
    await host.publish('1.1.0');
    const crashed = await host.tide(['update'], { TIDE_TEST_CRASH_AT: 'after-restart' });
    assert.is(crashed.signal, 'SIGKILL');
    assert.ok(existsSync(join(host.stateDir, 'pending.json')));
    daemon.current = startDaemon(host.configPath);
    const settled = await daemon.current.waitFor((l) => l.event === 'run-end' && l.kind === 'settle', 'the settle at start');
    assert.is(settled.result, 'committed');
    assert.is(settled.to, '1.1.0');
    assert.is(settled.run, 1);
    assert.not.ok(existsSync(join(host.stateDir, 'pending.json')));
    assert.equal((await daemon.current.terminate()).code, 0);
    assert.is(readlinkSync(join(host.stateDir, 'current')), 'versions/1.1.0');
  } finally {
    daemon.current?.kill();
    await host.cleanup();
  }
});

test('outside the window it checks but applies nothing; a usage error in [schedule] exits 2', async () => {
  // A window that is never now: the hour after the current one, for one minute.
  const now = new Date();
  const h = (now.getHours() + 2) % 24;
  const window = `${String(h).padStart(2, '0')}:00-${String(h).padStart(2, '0')}:01`;
  const host = await createHostFixture({ extraConfig: everySecond(`window = "${window}"`) });
  const daemon = { current: undefined as ReturnType<typeof startDaemon> | undefined };
  try {
    await host.publish('1.0.0');
    assert.is((await host.tide(['update'])).code, 0);
    await host.publish('1.1.0');
    daemon.current = startDaemon(host.configPath);
    const waiting = await daemon.current.waitFor((l) => l.event === 'run-end' && l.kind === 'scheduled', 'a scheduled run');
    assert.is(waiting.result, 'skipped');
    assert.is(waiting.to, '1.1.0');
    assert.match(String(waiting.reason), new RegExp(`inside the window ${window}`));
    assert.equal((await daemon.current.terminate()).code, 0);
    assert.is(readlinkSync(join(host.stateDir, 'current')), 'versions/1.0.0');
    assert.is(JSON.parse((await host.tide(['status', '--json'])).stdout).lastResult, 'waiting-for-window');

    writeFileSync(host.configPath, readFileSync(host.configPath, 'utf8').replace(`window = "${window}"`, 'window = "2am-5am"'));
    const bad = await host.tide(['daemon']);
    assert.is(bad.code, 2);
    assert.match(bad.stderr, /schedule\.window.*tide\.toml/);
  } finally {
    daemon.current?.kill();
    await host.cleanup();
  }
});

test.run();
