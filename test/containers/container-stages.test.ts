// test-needs: nginx, podman, network
// SPEC config.md#stage, end to end through the real `tide` binary and real podman:
// three stages start in order, each only after the one before passed its probes; a
// failing stage rolls the update back at once; recover brings everything back in order.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { tideBin } from '../helpers/host-fixture.js';
import { acquireStateLock } from '../../src/machine/lock.js';
import { listContainers } from '../../scripts/lib/podman-images.js';
import { assertStartOrder, createStagedHost, stageNames, type StagedHost } from './staged-host.js';

const test = suite('stages end to end');

/** 1.0.0 installed, mcns answering only 2 s after it started. */
async function installed(): Promise<StagedHost> {
  const h = await createStagedHost();
  try {
    await h.host.publish('1.0.0', 'good', { images: await h.images('1.0.0', { mcnsDelaySeconds: 2 }) });
    const first = await h.tide(['update']);
    assert.is(first.code, 0, first.stdout + first.stderr);
    return h;
  } catch (err) {
    await h.cleanup();
    throw err;
  }
}

const images = async (h: StagedHost) => Promise.all(stageNames.map(async (n) => (await h.inspect(n))?.image ?? null));

test('an install starts the stages in order; a foundation that answers late holds the later stages back', async () => {
  const h = await installed();
  try {
    // mcns answers 2 s after it started: proxy (the next stage) starts no earlier.
    await assertStartOrder(h, stageNames, [2_000, 1]);
    assert.equal(await images(h), ['localhost/mcns:1.0.0', 'localhost/proxy:1.0.0', 'localhost/web:1.0.0']);
    assert.is((await h.inspect('extra')), null, '1.0.0 has no image for extra: it is not created');
    // tide status lists every container: stage, image, state, restarts, health, last probe result.
    const status = await h.tide(['status', '--json']);
    assert.is(status.code, 0, status.stderr);
    const shown = JSON.parse(status.stdout) as { current: string; containers: { name: string; stage: string; image: string; state: string; restarts: number; health: string; probes: { probe: string; ok: boolean }[] }[] };
    assert.is(shown.current, '1.0.0');
    assert.equal(shown.containers.map((c) => [c.name, c.stage, c.image, c.state, c.restarts, c.health]), [
      ['mcns', 'foundation', 'localhost/mcns:1.0.0', 'running', 0, 'none'],
      ['proxy', 'middle', 'localhost/proxy:1.0.0', 'running', 0, 'none'],
      ['web', 'app', 'localhost/web:1.0.0', 'running', 0, 'none'],
    ]);
    assert.equal(shown.containers.map((c) => [c.probes[0]?.probe, c.probes[0]?.ok]), [['dns', true], ['proxy', true], ['web', true]]);
    await h.podman.podman(['stop', '-t', '0', 'proxy']);
    const text = await h.tide(['status']);
    assert.match(text.stdout, /^proxy +middle +localhost\/proxy:1\.0\.0 +exited +0 +none +proxy: ok$/m);
    assert.match(text.stdout, /^CONTAINER +STAGE +IMAGE +STATE +RESTARTS +HEALTH +LAST PROBE$/m);
  } finally {
    await h.cleanup();
  }
});

test('a middle stage that fails rolls the update back at once: the app stage never starts the new version, every stage is on the old images', async () => {
  const h = await installed();
  try {
    await h.host.publish('1.1.0', 'good', { images: await h.images('1.1.0', { exits: 'proxy' }) });
    const run = await h.tide(['update']);
    const said = run.stdout + run.stderr;
    assert.is(run.code, 5, said);
    assert.match(said, /stage "middle": http http:\/\/127\.0\.0\.1:\d+\/ /);
    assert.not.match(said, /web: started localhost\/web:1\.1\.0/);
    // Stopped in reverse stage order, started again stage by stage.
    assert.ok(said.indexOf('web: stopped') < said.indexOf('proxy: stopped') && said.indexOf('proxy: stopped') < said.indexOf('mcns: stopped'), said);
    assert.equal(await images(h), ['localhost/mcns:1.0.0', 'localhost/proxy:1.0.0', 'localhost/web:1.0.0']);
    await assertStartOrder(h, stageNames);
    assert.is(readlinkSync(join(h.host.stateDir, 'current')), 'versions/1.0.0');
    assert.equal(h.host.stateJson().bad, ['1.1.0']);
  } finally {
    await h.cleanup();
  }
});

test('a release that adds a container and fails: the rollback removes it, and its probe does not apply to the old version', async () => {
  const h = await installed();
  try {
    await h.host.publish('1.1.0', 'good', { images: await h.images('1.1.0', { extra: true, exits: 'web' }) });
    const run = await h.tide(['update']);
    assert.is(run.code, 5, run.stdout + run.stderr);
    assert.match(run.stdout + run.stderr, /extra: removed; 1\.0\.0 has no such container/);
    assert.is(await h.inspect('extra'), null);
    assert.equal(await images(h), ['localhost/mcns:1.0.0', 'localhost/proxy:1.0.0', 'localhost/web:1.0.0']);
    assert.equal((await listContainers(h.podman)).map((c) => [c.name, c.state]), [['mcns', 'running'], ['proxy', 'running'], ['web', 'running']]);
  } finally {
    await h.cleanup();
  }
});

test('after podman rm -f of everything, tide recover brings every stage back in order, the foundation retried until it answers', async () => {
  const h = await installed();
  try {
    await h.podman.podman(['rm', '-f', '-t', '0', ...stageNames]);
    const run = await h.tide(['recover']);
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /1\.0\.0 is healthy after recovery/);
    // The foundation answers only after 2 s: the first attempts fail and are retried, proxy waits.
    await assertStartOrder(h, stageNames, [2_000, 1]);
    assert.equal(await images(h), ['localhost/mcns:1.0.0', 'localhost/proxy:1.0.0', 'localhost/web:1.0.0']);
  } finally {
    await h.cleanup();
  }
});

test('at recover a later stage that fails is named and the stages after it still start (exit 6)', async () => {
  const h = await installed();
  try {
    await h.podman.podman(['rm', '-f', '-t', '0', ...stageNames]);
    // proxy's image is gone and its kept artifact damaged: the middle stage cannot start.
    await h.podman.podman(['rmi', 'localhost/proxy:1.0.0']);
    const kept = join(h.host.stateDir, 'artifacts', '1.0.0', 'images', 'proxy.oci.tar');
    const bytes = readFileSync(kept);
    bytes[100] ^= 0xff;
    writeFileSync(kept, bytes);
    const run = await h.tide(['recover']);
    assert.is(run.code, 6, run.stdout + run.stderr);
    assert.match(run.stdout, /stage "middle": container proxy: expected the kept image artifact to have sha256/);
    assert.ok((await h.inspect('mcns'))?.running, 'the foundation runs');
    assert.ok((await h.inspect('web'))?.running, 'the app stage started after the failed middle stage');
    assert.is(await h.inspect('proxy'), null);
  } finally {
    await h.cleanup();
  }
});

test('tide reconcile recreates a removed container and adopts the running ones (same container IDs); never while the lock is held', async () => {
  const h = await installed();
  try {
    const before = await Promise.all(stageNames.map((n) => h.inspect(n)));
    await h.podman.podman(['rm', '-f', '-t', '0', 'proxy']);
    // An update (here: this test) holds the lock: the pass is skipped, nothing is touched.
    const release = await acquireStateLock(h.host.stateDir, 'update');
    try {
      const held = await h.tide(['reconcile']);
      assert.is(held.code, 0, held.stdout + held.stderr);
      assert.match(held.stdout, /^skipped: pid \d+ \(tide update, since .*\) holds the lock/);
      assert.is(await h.inspect('proxy'), null);
    } finally {
      await release();
    }
    const run = await h.tide(['reconcile', '--log-format', 'json']);
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /"recreated":\["proxy"\]/);
    const lines = run.stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === 'reconcile');
    assert.equal(lines.map((l) => [l.container, l.stage, l.action]), [['proxy', 'middle', 'recreated']]);
    const after = await Promise.all(stageNames.map((n) => h.inspect(n)));
    assert.equal([after[0]!.id, after[2]!.id], [before[0]!.id, before[2]!.id], 'mcns and web adopted, not recreated');
    assert.equal([after[0]!.startedAt, after[2]!.startedAt], [before[0]!.startedAt, before[2]!.startedAt], 'and not restarted');
    assert.ok(after[1]!.running && after[1]!.id !== before[1]!.id);
    const record = JSON.parse(readFileSync(join(h.host.stateDir, 'containers.json'), 'utf8'));
    assert.equal([record.reconcile.runs, record.reconcile.recreated, record.reconcile.adopted], [1, 1, 2]);
  } finally {
    await h.cleanup();
  }
});

test('tide daemon runs the reconciler every [reconcile] interval: a removed container is back within an interval, running ones untouched', async () => {
  const h = await createStagedHost({ extraConfig: '\n[reconcile]\ninterval = "1s"\n\n[schedule]\ncron = "0 0 1 1 *"\n\n[metrics]\ntextfile = "metrics.prom"\n' });
  let daemon: ChildProcess | undefined;
  try {
    await h.host.publish('1.0.0', 'good', { images: await h.images('1.0.0') });
    const first = await h.tide(['update']);
    assert.is(first.code, 0, first.stdout + first.stderr);
    daemon = spawn(process.execPath, [tideBin, '--config', h.host.configPath, '--log-format', 'json', 'daemon'], { env: { ...process.env, ...h.podman.env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    daemon.stderr!.on('data', (d) => (log += d));
    // The settle run at start (like tide verify at boot) would recreate it too: remove it after that run.
    for (let i = 0; i < 150 && !log.includes('"event":"run-end"'); i++) await delay(100);
    assert.match(log, /"event":"run-end"/);
    const mcns = await h.inspect('mcns');
    await h.podman.podman(['rm', '-f', '-t', '0', 'web']);
    // Bounded: the interval is 1 s; a pass (recreate + nothing to wait for in the last stage) takes a few.
    let web = null;
    for (let i = 0; i < 100 && !web?.running; i++) {
      await delay(200);
      web = await h.inspect('web');
    }
    assert.ok(web?.running, `web is back; daemon log:\n${log}`);
    assert.equal(await h.inspect('mcns'), mcns, 'mcns untouched');
    for (let i = 0; i < 50 && !log.includes('"action":"recreated"'); i++) await delay(100);
    assert.match(log, /"event":"reconcile".*"container":"web","stage":"app","action":"recreated"/);
    // The metrics textfile is rewritten right after the pass that logged it.
    const recreatedOnce = /^tide_reconcile_recreated_total\{app="demo"\} 1$/m;
    const metrics = () => { try { return readFileSync(join(h.host.dir, 'metrics.prom'), 'utf8'); } catch { return ''; } };
    for (let i = 0; i < 50 && !recreatedOnce.test(metrics()); i++) await delay(100);
    assert.match(metrics(), recreatedOnce);
  } finally {
    daemon?.kill('SIGTERM');
    if (daemon && daemon.exitCode === null) await new Promise((resolve) => daemon!.once('exit', resolve));
    await h.cleanup();
  }
});

test.run();
