// test-needs: nginx, podman, network
// End to end through the real `tide` binary: a service binary, a web UI behind
// nginx and two podman containers (real podman, isolated store, images made with
// `podman import` and shipped as oci-archive artifacts) swap, roll back and recover.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listContainers } from '../../scripts/lib/podman-images.js';
import { listImages } from './podman-images.js';
import { installed, servingVersion } from './container-host.js';

const test = suite('containers end to end');

test('an update swaps the binary, the web UI and both containers; the old images stay until no longer kept', async () => {
  const c = await installed();
  try {
    assert.equal(await c.serving(), servingVersion('1.0.0'));
    await c.host.publish('1.1.0', 'good', { images: await c.images('1.1.0') });
    const run = await c.tide(['update']);
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.equal(await c.serving(), servingVersion('1.1.0'));
    assert.equal((await listContainers(c.podman)).map((x) => [x.name, x.image, x.state]), [
      ['demo-api', 'localhost/demo-api:1.1.0', 'running'],
      ['demo-web', 'localhost/demo-web:1.1.0', 'running'],
    ]);
    assert.equal(await listImages(c.podman), ['localhost/demo-api:1.0.0', 'localhost/demo-api:1.1.0', 'localhost/demo-web:1.0.0', 'localhost/demo-web:1.1.0']);
    // The image archives of current and previous are kept for `tide recover`; the bundle is not.
    const kept = join(c.host.stateDir, 'artifacts', '1.1.0');
    assert.ok(existsSync(join(kept, 'images', 'demo-web.oci.tar')));
    assert.ok(existsSync(join(kept, 'manifest.json')));
    assert.not.ok(existsSync(join(kept, 'demo-1.1.0.tar.gz')));
  } finally {
    await c.cleanup();
  }
});

test('a new image whose container exits at start is rolled back: the old containers serve again, none of the failed version is left', async () => {
  const c = await installed();
  try {
    const before = await listContainers(c.podman);
    await c.host.publish('1.1.0', 'good', { images: await c.images('1.1.0', { webExits: true }) });
    const started = Date.now();
    const run = await c.tide(['update']);
    const took = Date.now() - started;
    assert.is(run.code, 5, run.stdout + run.stderr);
    assert.match(run.stdout + run.stderr, /container demo-web exited 1: web 1\.1\.0: cannot start/);
    assert.ok(took < 15_000, `rolled back in ${took} ms; the health timeout is 20 s`);
    assert.equal(await c.serving(), servingVersion('1.0.0'));
    const after = await listContainers(c.podman);
    // The kept containers were renamed back and started, not recreated.
    assert.equal(after.map((x) => [x.name, x.image, x.state, x.id]), before.map((x) => [x.name, x.image, 'running', x.id]));
    assert.is(readlinkSync(join(c.host.stateDir, 'current')), 'versions/1.0.0');
    assert.equal(c.host.stateJson().bad, ['1.1.0']);
  } finally {
    await c.cleanup();
  }
});

test('after podman rm -f of every container, tide recover recreates them; running ones are adopted', async () => {
  const c = await installed();
  try {
    const running = await listContainers(c.podman);
    const adopt = await c.tide(['recover']);
    assert.is(adopt.code, 0, adopt.stdout + adopt.stderr);
    assert.equal((await listContainers(c.podman)).map((x) => x.id), running.map((x) => x.id), 'nothing recreated');
    await c.podman.podman(['rm', '-f', '-t', '0', 'demo-web', 'demo-api']);
    assert.equal(await listContainers(c.podman), []);
    const run = await c.tide(['recover']);
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /1\.0\.0 is healthy after recovery/);
    assert.equal(await c.serving(), servingVersion('1.0.0'));
    // SPEC commands.md#tide-verify: at boot, without a marker: the same reconciliation, quietly when all is fine.
    await c.podman.podman(['stop', '-t', '0', 'demo-api']);
    const verify = await c.tide(['verify']);
    assert.is(verify.code, 0, verify.stdout + verify.stderr);
    assert.is(verify.stdout, '');
    assert.equal((await listContainers(c.podman)).map((x) => [x.name, x.state]), [['demo-api', 'running'], ['demo-web', 'running']]);
    const quiet = await c.tide(['verify']);
    assert.equal([quiet.code, quiet.stdout, quiet.stderr], [0, '', '']);
  } finally {
    await c.cleanup();
  }
});

test('after podman storage is lost, tide recover loads the images again from the verified kept artifacts', async () => {
  const c = await installed();
  try {
    await c.loseStorage();
    assert.equal(await listImages(c.podman), []);
    const run = await c.tide(['recover']);
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stderr, /loading it again from the verified artifact of 1\.0\.0/);
    assert.equal(await c.serving(), servingVersion('1.0.0'));
    assert.equal(await listImages(c.podman), ['localhost/demo-api:1.0.0', 'localhost/demo-web:1.0.0']);
    // A kept artifact that no longer matches the manifest is never loaded.
    await c.loseStorage();
    const kept = join(c.host.stateDir, 'artifacts', '1.0.0', 'images', 'demo-web.oci.tar');
    const bytes = readFileSync(kept);
    bytes[100] ^= 0xff;
    writeFileSync(kept, bytes);
    const tampered = await c.tide(['recover']);
    assert.is(tampered.code, 6, tampered.stdout + tampered.stderr);
    assert.match(tampered.stderr, /demo-web: expected the kept image artifact to have sha256/);
    assert.not.ok((await listImages(c.podman)).includes('localhost/demo-web:1.0.0'));
  } finally {
    await c.cleanup();
  }
});

test('an image artifact that loads with another ref is refused (exit 3) and nothing is swapped', async () => {
  const c = await installed();
  try {
    const before = await listContainers(c.podman);
    await c.host.publish('1.1.0', 'good', { images: await c.images('1.1.0', { webRef: 'localhost/demo-web:9.9.9' }) });
    const run = await c.tide(['update']);
    assert.is(run.code, 3, run.stdout + run.stderr);
    assert.match(run.stderr, /image-ref: expected the image archive to carry localhost\/demo-web:1\.1\.0, found localhost\/demo-web:9\.9\.9 \(file releases\/1\.1\.0\/images\/demo-web\.oci\.tar\)/);
    assert.equal(await c.serving(), servingVersion('1.0.0'));
    assert.equal((await listContainers(c.podman)).map((x) => x.id), before.map((x) => x.id));
    assert.not.ok((await listImages(c.podman)).includes('localhost/demo-web:9.9.9'));
    assert.is(readlinkSync(join(c.host.stateDir, 'current')), 'versions/1.0.0');
    assert.not.ok(existsSync(join(c.host.stateDir, 'versions', '1.1.0')));
    assert.not.ok(existsSync(join(c.host.stateDir, 'pending.json')));
  } finally {
    await c.cleanup();
  }
});

test.run();
