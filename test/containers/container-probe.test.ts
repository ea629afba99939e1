// test-needs: podman
// The `container` probe against real containers in an isolated podman store.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { createContainerProbe } from '../../src/containers/container-probe.js';
import { createProber } from '../../src/health/probes.js';
import { settleHealth } from '../../src/health/settle-health.js';
import { createPodman } from '../../src/system/podman.js';
import { runProcess } from '../../src/system/process-runner.js';
import { isolatedPodman } from '../../scripts/lib/podman.js';
import { tempDir } from '../helpers/tmp.js';
import { importExitingImage } from './podman-images.js';

const budget = { timeoutMs: 5_000 };

async function probeHost(tmp: string) {
  const host = isolatedPodman(tmp);
  const podman = createPodman({ argv: host.argv, runner: { run: (argv, opts) => runProcess(argv, { ...opts, env: { ...host.env, ...opts?.env } }) }, timeoutMs: 5_000 });
  await host.importBusyboxImage('localhost/tiny:1');
  const run = async (args: string[]) => {
    const result = await host.podman(['run', '-d', ...args]);
    if (result.code !== 0) throw new Error(result.stderr);
  };
  return { host, podman, probe: createContainerProbe(podman), run };
}

test('a running container passes; a missing one is gone', async () => {
  const tmp = tempDir();
  const p = await probeHost(tmp.path);
  try {
    await p.run(['--name', 'up', '--stop-timeout', '0', 'localhost/tiny:1', '/bin/busybox', 'sleep', '600']);
    const up = await p.probe('up', budget);
    assert.ok(up.ok, up.detail);
    assert.match(up.detail, /runs localhost\/tiny:1/);
    const missing = await p.probe('nope', budget);
    assert.equal([missing.ok, missing.gone, missing.detail], [false, true, 'does not exist']);
  } finally {
    await p.host.removeAllContainers();
    tmp.cleanup();
  }
});

test('an exited container is gone at once, with its last words', async () => {
  const tmp = tempDir();
  const p = await probeHost(tmp.path);
  try {
    await importExitingImage(p.host, 'localhost/broken:1', 'web 1.1.0');
    await p.run(['--name', 'broken', 'localhost/broken:1']);
    await p.host.podman(['wait', 'broken']);
    const result = await p.probe('broken', budget);
    assert.is(result.ok, false);
    assert.is(result.gone, true);
    assert.match(result.detail, /exited 1: web 1\.1\.0: cannot start/);
  } finally {
    await p.host.removeAllContainers();
    tmp.cleanup();
  }
});

test('a container that restarted since the last attempt fails that attempt', async () => {
  const tmp = tempDir();
  const p = await probeHost(tmp.path);
  try {
    await p.run(['--name', 'flaky', '--stop-timeout', '0', 'localhost/tiny:1', '/bin/busybox', 'sleep', '600']);
    assert.ok((await p.probe('flaky', budget)).ok);
    await p.host.podman(['restart', '--time', '0', 'flaky']);
    const after = await p.probe('flaky', budget);
    assert.is(after.ok, false);
    assert.match(after.detail, /restarted/);
    assert.not.ok(after.gone);
    assert.ok((await p.probe('flaky', budget)).ok, 'stable again from the restart on');
  } finally {
    await p.host.removeAllContainers();
    tmp.cleanup();
  }
});

test('a container with a restart policy that exited is failing, not gone', async () => {
  const tmp = tempDir();
  const p = await probeHost(tmp.path);
  try {
    await p.run(['--name', 'looping', '--restart', 'on-failure:1', 'localhost/tiny:1', '/bin/busybox', 'false']);
    await p.host.podman(['wait', 'looping']);
    const result = await p.probe('looping', budget);
    assert.is(result.ok, false);
    assert.not.ok(result.gone);
  } finally {
    await p.host.removeAllContainers();
    tmp.cleanup();
  }
});

test('a healthcheck must report healthy', async () => {
  const tmp = tempDir();
  const p = await probeHost(tmp.path);
  try {
    await p.run(['--name', 'checked', '--stop-timeout', '0', '--health-cmd', '["/bin/busybox", "test", "-f", "/ready"]', '--health-interval', '0',
      'localhost/tiny:1', '/bin/busybox', 'sleep', '600']);
    const before = await p.probe('checked', budget);
    assert.is(before.ok, false);
    assert.match(before.detail, /healthcheck says unhealthy/);
    await p.host.podman(['exec', 'checked', '/bin/busybox', 'touch', '/ready']);
    const after = await p.probe('checked', budget);
    assert.ok(after.ok, after.detail);
    assert.match(after.detail, /is healthy/);
  } finally {
    await p.host.removeAllContainers();
    tmp.cleanup();
  }
});

test('settleHealth fails fast on a container that exits, long before the timeout', async () => {
  const tmp = tempDir();
  const p = await probeHost(tmp.path);
  try {
    await p.run(['--name', 'dies', 'localhost/tiny:1', '/bin/busybox', 'sh', '-c', 'sleep 1; echo giving up; exit 3']);
    const prober = createProber({ containerProbe: p.probe });
    const verdict = await settleHealth([{ type: 'container', name: 'dies' }], { timeout: 30_000, start: 30_000, interval: 300, stable: 20_000 }, { attempt: prober });
    assert.is(verdict.healthy, false);
    assert.match(verdict.reason, /container dies/, verdict.reason);
    assert.match(verdict.reason, /exited 3: giving up/, verdict.reason);
    assert.ok(verdict.elapsedMs < 10_000, `failed after ${verdict.elapsedMs} ms`);
  } finally {
    await p.host.removeAllContainers();
    tmp.cleanup();
  }
});

test.run();
