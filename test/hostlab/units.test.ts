// test-needs: systemd, nginx
// tide through its own units on a real host: one lab machine (Debian 12, systemd as
// PID 1 in systemd-nspawn), tide installed by scripts/install.sh, the demo app as a
// usual Restart=on-failure unit behind nginx. The scenarios run in order on the
// same machine, as one host's life: first install by tide-update.service, a healthy
// update, a broken release rolled back, a config the sandbox does not cover, a clean
// poweroff while probing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDemoHost, waitFor, type DemoHost, type JournalLine } from './demo-host.js';

let host: DemoHost;

const messages = (lines: JournalLine[]) => lines.map((line) => line.message).join('\n');

test.before(async () => {
  host = await createDemoHost({ name: 'units' });
});

test.after(async () => {
  await host?.cleanup();
});

test('install.sh enabled tide-verify for the next boot without starting it, and ordered tide-update after the app', async () => {
  // It ran on a host with node and no npm.
  assert.is.not((await host.machine.sh('command -v npm')).code, 0, 'the lab machine has npm');
  assert.is((await host.machine.sh('command -v node')).stdout.trim(), '/usr/bin/node');
  const enabled = await host.machine.run(['systemctl', 'is-enabled', 'tide-verify.service']);
  assert.is(enabled.stdout.trim(), 'enabled');
  const shown = await host.machine.run(['systemctl', 'show', '-p', 'ActiveEnterTimestampMonotonic,ExecMainStartTimestampMonotonic', '--value', 'tide-verify.service']);
  assert.equal(shown.stdout.trim().split('\n'), ['0', '0'], 'tide-verify.service ran at install');
  const after = await host.machine.run(['systemctl', 'show', '-p', 'After', '--value', 'tide-update.service']);
  for (const unit of ['demo.service', 'nginx.service']) assert.ok(after.stdout.split(/\s+/).includes(unit), `tide-update.service is not After=${unit}: ${after.stdout}`);
});

test('first install by tide-update.service itself: 1.0.0 committed, served by nginx (web and API)', async () => {
  await host.publish('1.0.0');
  const run = await host.startUnit('tide-update.service');
  assert.is(run.exitStatus, 0, `tide update exited ${run.exitStatus}: ${messages(await host.journal('tide-update.service'))}`);
  assert.equal(await host.serving(), { api: 'demo 1.0.0', web: '<h1>demo 1.0.0</h1>' });
  const status = await host.status();
  assert.is(status.current, '1.0.0');
  assert.is(status.pending, null);
  assert.is(status.lastResult, 'committed');
  assert.is(host.marker(), null);
  const journal = await host.journal('tide-update.service');
  assert.ok(journal.some((line) => line.event === 'commit' && /committed 1\.0\.0/.test(line.message)), messages(journal));
});

test('healthy update through the unit: 1.1.0 committed, 1.0.0 previous', async () => {
  await host.publish('1.1.0');
  const run = await host.startUnit('tide-update.service');
  assert.is(run.exitStatus, 0, messages(await host.journal('tide-update.service')));
  assert.equal(await host.serving(), { api: 'demo 1.1.0', web: '<h1>demo 1.1.0</h1>' });
  const status = await host.status();
  assert.equal([status.current, status.previous, status.lastResult], ['1.1.0', '1.0.0', 'committed']);
});

test('a release that exits at start under Restart=on-failure: exit 5, 1.1.0 serving, the cause named from the unit', async () => {
  await host.publish('1.2.0', 'crash');
  const run = await host.startUnit('tide-update.service');
  const journal = await host.journal('tide-update.service');
  assert.is(run.exitStatus, 5, `expected exit 5 (rolled back), got ${run.exitStatus}: ${messages(journal)}`);
  assert.equal(await host.serving(), { api: 'demo 1.1.0', web: '<h1>demo 1.1.0</h1>' });
  const status = await host.status();
  assert.equal([status.current, status.lastResult, status.bad], ['1.1.0', 'rolled-back', ['1.2.0']]);
  assert.is(host.marker(), null);
  assert.ok(journal.some((line) => line.event === 'rollback' && /rolled back to 1\.1\.0/.test(line.message)), messages(journal));
  // The app's unit is active again, its failed state gone.
  assert.is((await host.machine.run(['systemctl', 'is-active', 'demo.service'])).stdout.trim(), 'active');
});

test('a config edited after install.sh: the unit stops before tide starts, naming the directory and what to run', async () => {
  const config = join(host.machine.root, 'etc/tide/tide.toml');
  const before = readFileSync(config, 'utf8');
  writeFileSync(config, `${before.replace('[service]', '[[link]]\npath = "/opt/demo/web"\ntarget = "web"\n\n[service]')}`);
  try {
    await host.publish('1.3.0');
    const run = await host.startUnit('tide-update.service');
    const journal = messages(await host.journal('tide-update.service'));
    assert.is.not(run.systemctl.code, 0);
    assert.is(run.result, 'exit-code');
    assert.match(journal, /tide may not write \/opt\/demo \(\[\[link\]\] path \/opt\/demo\/web in \/etc\/tide\/tide\.toml\): EROFS; run scripts\/install\.sh again/);
    const status = await host.status();
    assert.equal([status.current, status.pending], ['1.1.0', null], 'tide started although the sandbox does not cover the config');
    assert.equal(await host.serving(), { api: 'demo 1.1.0', web: '<h1>demo 1.1.0</h1>' });
    // install.sh again, as the line says: the next run updates.
    const again = await host.machine.run(['sh', '/srv/checkout/scripts/install.sh', '--app-unit', 'demo.service']);
    assert.is(again.code, 0, again.stderr);
    await host.machine.run(['systemctl', 'disable', '--now', 'tide-update.timer']);
    const retried = await host.startUnit('tide-update.service');
    assert.is(retried.exitStatus, 0, messages(await host.journal('tide-update.service')));
    assert.is((await host.status()).current, '1.3.0');
  } finally {
    writeFileSync(config, before);
    await host.machine.run(['sh', '/srv/checkout/scripts/install.sh', '--app-unit', 'demo.service']);
    await host.machine.run(['systemctl', 'disable', '--now', 'tide-update.timer']);
  }
});

test('tide-update.timer: scheduled within the hour as shipped, and its tick runs tide-update.service', async () => {
  await host.machine.run(['systemctl', 'start', 'tide-update.timer']);
  try {
    const shown = await host.machine.run(['systemctl', 'show', '-p', 'Triggers,ActiveState', 'tide-update.timer']);
    const fields = Object.fromEntries(shown.stdout.trim().split('\n').map((line) => line.split('=', 2) as [string, string]));
    assert.equal([fields.ActiveState, fields.Triggers], ['active', 'tide-update.service']);
    const [next, now] = (await host.machine.sh('date -d "$(systemctl show -p NextElapseUSecRealtime --value tide-update.timer)" +%s; date +%s')).stdout.trim().split('\n').map(Number) as [number, number];
    // hourly, plus up to 30 min of RandomizedDelaySec.
    assert.ok(next > now && next <= now + 90 * 60, `next tick at ${next}, now ${now}`);
    // One tick now, through a runtime drop-in: a trigger in 1 s, without the random spread (which
    // applies to every trigger of the timer); the shipped file is untouched.
    await host.machine.sh('mkdir -p /run/systemd/system/tide-update.timer.d && printf "[Timer]\\nOnActiveSec=1s\\nRandomizedDelaySec=0\\n" >/run/systemd/system/tide-update.timer.d/tick.conf && systemctl daemon-reload && systemctl restart tide-update.timer');
    const before = (await host.journal('tide-update.service')).length;
    const ran = await waitFor('a tick of tide-update.timer', async () => {
      const lines = (await host.journal('tide-update.service')).slice(before);
      return lines.find((line) => line.event === 'result' && line.command === 'update');
    }, 60_000);
    assert.is(ran.exitCode, 0, JSON.stringify(ran));
  } finally {
    await host.machine.sh('rm -rf /run/systemd/system/tide-update.timer.d && systemctl daemon-reload && systemctl disable --now tide-update.timer');
  }
});

test('a clean poweroff while probing is no rollback: the marker is left, boot commits the healthy release', async () => {
  // A stable window long enough that the poweroff surely lands while probing.
  const config = join(host.machine.root, 'etc/tide/tide.toml');
  const before = readFileSync(config, 'utf8');
  writeFileSync(config, before.replace('stable = "2s"', 'stable = "6s"'));
  await host.publish('1.4.0');
  await host.machine.run(['systemctl', 'start', '--no-block', 'tide-update.service']);
  await waitFor('the marker at probing', () => host.marker()?.phase === 'probing');
  await host.machine.poweroff();
  writeFileSync(config, before);
  // Before the next boot: tide left the marker, recorded nothing.
  assert.equal([host.marker()?.phase, host.marker()?.to], ['probing', '1.4.0']);
  assert.not.ok(host.stateJson().history.some((entry) => entry.to === '1.4.0'), JSON.stringify(host.stateJson().history));
  await host.machine.boot();
  const previousBoot = (await host.journal('tide-update.service', { boot: '-1' })).filter((line) => line.to === '1.4.0' || line.event === 'shutdown');
  assert.ok(previousBoot.some((line) => line.event === 'shutdown' && /shutting down: stopping here; the pending update \(phase probing\) is left for tide verify/.test(line.message)), messages(previousBoot));
  assert.not.ok(previousBoot.some((line) => line.event === 'rollback' || line.result === 'rollback-failed'), messages(previousBoot));
  const status = await host.status();
  assert.equal([status.current, status.pending, status.lastResult, status.bad], ['1.4.0', null, 'committed', ['1.2.0']]);
  assert.equal(await host.serving(), { api: 'demo 1.4.0', web: '<h1>demo 1.4.0</h1>' });
  const verify = await host.journal('tide-verify.service');
  assert.ok(verify.some((line) => line.event === 'commit' && /committed 1\.4\.0/.test(line.message)), messages(verify));
  assert.is(await host.machine.waitBooted(), 'running');
});

test.run();
