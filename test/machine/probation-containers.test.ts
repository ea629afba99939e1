// test-needs: nginx, podman, network
// SPEC design.md#probation with real podman (isolated store): during probation the old
// containers stay kept aside and the old images stay; a late failure puts the very same
// old containers back (renamed back and started, not recreated) and they serve again.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listContainers } from '../../scripts/lib/podman-images.js';
import { listImages } from '../containers/podman-images.js';
import { installed, servingVersion } from '../containers/container-host.js';
import { tideBin } from '../helpers/host-fixture.js';

const test = suite('probation with containers');

test('a late failure in probation puts the old containers and images back (exit 5)', async () => {
  const c = await installed();
  try {
    // The container host's config, with a probation (the helper's [health] is shared with other tests).
    const config = readFileSync(c.host.configPath, 'utf8');
    writeFileSync(c.host.configPath, config.replace('stable = "1s"\n', 'stable = "1s"\nstart = "4s"\nprobation = "20s"\n'));
    const before = await listContainers(c.podman);
    await c.host.publish('1.1.0', 'dies-later', { images: await c.images('1.1.0') });
    const child = spawn(process.execPath, [tideBin, '--config', c.host.configPath, 'update'], { env: { ...process.env, ...c.podman.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    for (let i = 0; i < 400 && !/watching 1\.1\.0 for/.test(err) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(err, /watching 1\.1\.0 for/, 'the update reached probation');
    // Committed and on probation: the new containers run, the old ones are kept aside, the old images stay.
    const during = await listContainers(c.podman);
    assert.equal(during.map((x) => x.name), ['demo-api', 'demo-api.tide-prev', 'demo-web', 'demo-web.tide-prev']);
    assert.ok((await listImages(c.podman)).includes('localhost/demo-web:1.0.0'));
    const code = await closed;
    assert.is(code, 5, out + err);
    assert.match(out, /1\.1\.0 was unhealthy in probation after its commit, rolled back to 1\.0\.0/);
    assert.equal(await c.serving(), servingVersion('1.0.0'));
    const after = await listContainers(c.podman);
    assert.equal(after.map((x) => [x.name, x.image, x.state, x.id]), before.map((x) => [x.name, x.image, 'running', x.id]), 'the kept containers are back, not recreated');
    assert.is(readlinkSync(join(c.host.stateDir, 'current')), 'versions/1.0.0');
    assert.equal(c.host.stateJson().bad, ['1.1.0']);
  } finally {
    await c.cleanup();
  }
});

test.run();
