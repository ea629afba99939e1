// test-needs: podman, network
// ContainerSwap with real podman in an isolated store: the swap keeps the old
// container aside, rollback puts it back, commit and recover clean up.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { freePort } from '../../scripts/lib/free-port.js';
import { httpText } from '../../scripts/lib/http-text.js';
import { importWebImage, listContainers } from '../../scripts/lib/podman-images.js';
import { rejectsWithCode } from '../helpers/assert-error.js';
import { tempDir } from '../helpers/tmp.js';
import { listImages } from './podman-images.js';
import { createSwapHost, webSpec } from './swap-fixture.js';

const web = (v: string) => `localhost/demo-web:${v}`;

async function twoVersions(tmp: string, keep = 1) {
  const port = await freePort();
  const h = createSwapHost(join(tmp, 'host'), [webSpec('demo-web', 'localhost/demo-web', port)], keep);
  for (const v of ['1.0.0', '1.1.0']) {
    await importWebImage(h.host, web(v), `web ${v}`);
    h.install(v, [web(v)]);
  }
  h.point('current', '1.0.0');
  await h.swap.switchTo('1.0.0');
  return { h, port };
}

test('the swap recreates the container with the new tag and keeps the old one aside until commit', async () => {
  const tmp = tempDir();
  const { h, port } = await twoVersions(tmp.path);
  try {
    assert.is(await httpText(port), 'web 1.0.0');
    h.point('previous', '1.0.0');
    h.point('current', '1.1.0');
    await h.swap.switchTo('1.1.0');
    assert.is(await httpText(port), 'web 1.1.0');
    const during = await listContainers(h.host);
    assert.equal(during.map((c) => [c.name, c.image, c.state]), [['demo-web', web('1.1.0'), 'running'], ['demo-web.tide-prev', web('1.0.0'), 'exited']]);
    // A resumed swap (tide verify after a crash) changes nothing.
    await h.swap.switchTo('1.1.0');
    assert.equal((await listContainers(h.host)).map((c) => c.id), during.map((c) => c.id));
    await h.swap.commit('1.1.0');
    assert.equal((await listContainers(h.host)).map((c) => [c.name, c.image]), [['demo-web', web('1.1.0')]]);
    // SPEC containers.md#commit: the previous version's images stay until they are no longer kept.
    assert.equal(await listImages(h.host), [web('1.0.0'), web('1.1.0')]);
  } finally {
    await h.host.removeAllContainers();
    tmp.cleanup();
  }
});

test('rollback renames the kept container back and removes the failed version\'s', async () => {
  const tmp = tempDir();
  const { h, port } = await twoVersions(tmp.path);
  try {
    const oldId = (await listContainers(h.host))[0]!.id;
    h.point('current', '1.1.0');
    await h.swap.switchTo('1.1.0');
    h.point('current', '1.0.0');
    h.rollingBack.value = true;
    await h.swap.switchTo('1.0.0');
    assert.is(await httpText(port), 'web 1.0.0');
    const after = await listContainers(h.host);
    assert.equal(after.map((c) => [c.name, c.image, c.state, c.id]), [['demo-web', web('1.0.0'), 'running', oldId]]);
  } finally {
    await h.host.removeAllContainers();
    tmp.cleanup();
  }
});

test('rollback without a kept container recreates it from the previous tag', async () => {
  const tmp = tempDir();
  const { h, port } = await twoVersions(tmp.path);
  try {
    h.point('current', '1.1.0');
    await h.swap.switchTo('1.1.0');
    await h.host.podman(['rm', '-f', 'demo-web.tide-prev']);
    h.point('current', '1.0.0');
    h.rollingBack.value = true;
    await h.swap.switchTo('1.0.0');
    assert.is(await httpText(port), 'web 1.0.0');
    assert.equal((await listContainers(h.host)).map((c) => [c.name, c.image]), [['demo-web', web('1.0.0')]]);
  } finally {
    await h.host.removeAllContainers();
    tmp.cleanup();
  }
});

test('a resumed swap after a crash between moving aside and starting keeps the old container aside', async () => {
  const tmp = tempDir();
  const { h, port } = await twoVersions(tmp.path);
  try {
    await h.host.podman(['stop', '-t', '0', 'demo-web']);
    await h.host.podman(['rename', 'demo-web', 'demo-web.tide-prev']);
    h.point('current', '1.1.0');
    await h.swap.switchTo('1.1.0');
    assert.is(await httpText(port), 'web 1.1.0');
    assert.equal((await listContainers(h.host)).map((c) => [c.name, c.image]), [['demo-web', web('1.1.0')], ['demo-web.tide-prev', web('1.0.0')]]);
  } finally {
    await h.host.removeAllContainers();
    tmp.cleanup();
  }
});

test('a container whose repository has no artifact in the release is left alone by the swap, but recovered', async () => {
  const tmp = tempDir();
  try {
    const port = await freePort();
    const h = createSwapHost(join(tmp.path, 'host'), [webSpec('side', 'localhost/side:1', port)]);
    try {
      await importWebImage(h.host, 'localhost/side:1', 'side 1');
      h.install('1.0.0', []);
      h.point('current', '1.0.0');
      await h.swap.switchTo('1.0.0');
      assert.equal(await listContainers(h.host), []);
      await h.swap.reconcile();
      assert.is(await httpText(port), 'side 1');
    } finally {
      await h.host.removeAllContainers();
    }
  } finally {
    tmp.cleanup();
  }
});

test('recover adopts a running container, recreates a stopped or missing one, and drops what was kept aside', async () => {
  const tmp = tempDir();
  try {
    const [portA, portB] = [await freePort(), await freePort()];
    const h = createSwapHost(join(tmp.path, 'host'), [webSpec('demo-web', 'localhost/demo-web', portA), webSpec('demo-api', 'localhost/demo-api', portB)]);
    try {
      await importWebImage(h.host, web('1.0.0'), 'web 1.0.0');
      await importWebImage(h.host, 'localhost/demo-api:1.0.0', 'api 1.0.0');
      h.install('1.0.0', [web('1.0.0'), 'localhost/demo-api:1.0.0']);
      h.point('current', '1.0.0');
      await h.swap.switchTo('1.0.0');
      const before = await listContainers(h.host);
      await h.swap.reconcile();
      assert.equal((await listContainers(h.host)).map((c) => c.id), before.map((c) => c.id), 'running containers are adopted');
      await h.host.podman(['stop', '-t', '0', 'demo-api']);
      await h.host.podman(['rm', '-f', 'demo-web']);
      await h.host.podman(['create', '--name', 'demo-web.tide-prev', web('1.0.0')]);
      await h.swap.reconcile();
      const after = await listContainers(h.host);
      assert.equal(after.map((c) => [c.name, c.state]), [['demo-api', 'running'], ['demo-web', 'running']]);
      assert.is.not(after[0]!.id, before.find((c) => c.name === 'demo-api')!.id);
      assert.is(await httpText(portA), 'web 1.0.0');
      assert.is(await httpText(portB), 'api 1.0.0');
    } finally {
      await h.host.removeAllContainers();
    }
  } finally {
    tmp.cleanup();
  }
});

test('commit prunes images of versions no longer kept, never those of current or previous', async () => {
  const tmp = tempDir();
  try {
    const port = await freePort();
    const h = createSwapHost(join(tmp.path, 'host'), [webSpec('demo-web', 'localhost/demo-web', port)], 0);
    try {
      for (const v of ['1.0.0', '1.1.0', '1.2.0']) {
        await importWebImage(h.host, web(v), `web ${v}`);
        h.install(v, [web(v)]);
      }
      await importWebImage(h.host, 'localhost/demo-web:dev', 'an image tide never loaded');
      h.point('previous', '1.1.0');
      h.point('current', '1.2.0');
      await h.swap.switchTo('1.2.0');
      await h.swap.commit('1.2.0');
      assert.equal(await listImages(h.host), [web('1.1.0'), web('1.2.0'), 'localhost/demo-web:dev']);
    } finally {
      await h.host.removeAllContainers();
    }
  } finally {
    tmp.cleanup();
  }
});

test('a container podman cannot start fails its stage at once, leaves no Created container behind, and fails a rollback', async () => {
  const tmp = tempDir();
  try {
    const port = await freePort();
    // podman creates it, then the runtime cannot exec the command: without the cleanup a `Created` container stays.
    const h = createSwapHost(join(tmp.path, 'host'), [{ ...webSpec('demo-web', 'localhost/demo-web', port), command: ['/no/such/binary'] }]);
    try {
      await importWebImage(h.host, web('1.0.0'), 'web 1.0.0');
      h.install('1.0.0', [web('1.0.0')]);
      h.point('current', '1.0.0');
      const forward = await rejectsWithCode(h.swap.switchTo('1.0.0'), 'operator-needed');
      assert.match(forward.message, /container demo-web: podman run .*\/no\/such\/binary/);
      assert.equal(await listContainers(h.host), []);
      h.rollingBack.value = true;
      const err = await rejectsWithCode(h.swap.switchTo('1.0.0'), 'operator-needed');
      assert.match(err.message, /demo-web: .*no\/such\/binary/);
      assert.equal(await listContainers(h.host), []);
    } finally {
      await h.host.removeAllContainers();
    }
  } finally {
    tmp.cleanup();
  }
});

test.run();
