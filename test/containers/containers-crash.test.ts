// test-needs: podman, network
// Containers through crashes and the manual rollback, with the real `tide` binary:
// SIGKILL at a named point (TIDE_TEST_CRASH_AT), then `tide verify` settles it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { listContainers } from '../../scripts/lib/podman-images.js';
import { installed, servingVersion } from './container-host.js';

const test = suite('containers through crashes');

test('killed after the restart of a good update: verify commits and drops the containers kept aside', async () => {
  const c = await installed();
  try {
    await c.host.publish('1.1.0', 'good', { images: await c.images('1.1.0') });
    const killed = await c.tide(['update'], { TIDE_TEST_CRASH_AT: 'after-restart' });
    assert.is(killed.signal, 'SIGKILL', killed.stdout + killed.stderr);
    assert.equal((await listContainers(c.podman)).map((x) => x.name), ['demo-api', 'demo-api.tide-prev', 'demo-web', 'demo-web.tide-prev']);
    const verify = await c.tide(['verify']);
    assert.is(verify.code, 0, verify.stdout + verify.stderr);
    assert.equal(await c.serving(), servingVersion('1.1.0'));
    assert.equal((await listContainers(c.podman)).map((x) => [x.name, x.image]), [['demo-api', 'localhost/demo-api:1.1.0'], ['demo-web', 'localhost/demo-web:1.1.0']]);
  } finally {
    await c.cleanup();
  }
});

test('killed in the rollback right after the flip back: verify puts the old containers back', async () => {
  const c = await installed();
  try {
    await c.host.publish('1.1.0', 'good', { images: await c.images('1.1.0', { webExits: true }) });
    const killed = await c.tide(['update'], { TIDE_TEST_CRASH_AT: 'rollback-after-flip' });
    assert.is(killed.signal, 'SIGKILL', killed.stdout + killed.stderr);
    const verify = await c.tide(['verify']);
    assert.is(verify.code, 5, verify.stdout + verify.stderr);
    assert.equal(await c.serving(), servingVersion('1.0.0'));
    assert.equal((await listContainers(c.podman)).map((x) => [x.name, x.image, x.state]), [
      ['demo-api', 'localhost/demo-api:1.0.0', 'running'],
      ['demo-web', 'localhost/demo-web:1.0.0', 'running'],
    ]);
    assert.not.ok(existsSync(join(c.host.stateDir, 'pending.json')));
  } finally {
    await c.cleanup();
  }
});

test('tide rollback takes the containers back to the previous images too', async () => {
  const c = await installed();
  try {
    await c.host.publish('1.1.0', 'good', { images: await c.images('1.1.0') });
    assert.is((await c.tide(['update'])).code, 0);
    const run = await c.tide(['rollback']);
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.equal(await c.serving(), servingVersion('1.0.0'));
    assert.is(readlinkSync(join(c.host.stateDir, 'current')), 'versions/1.0.0');
    assert.equal((await listContainers(c.podman)).map((x) => [x.name, x.image]), [['demo-api', 'localhost/demo-api:1.0.0'], ['demo-web', 'localhost/demo-web:1.0.0']]);
  } finally {
    await c.cleanup();
  }
});

test.run();
