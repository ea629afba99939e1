// test-needs: nginx, podman, network
// SPEC formats.md#oci-layout-images end to end: a 3-layer image built offline with real
// podman, released by the real `tide release build --image-layout oci` and `publish`, a host
// updating with the real binary from an HTTP mirror on 127.0.0.1 that counts the bytes it
// serves. The second release changes one layer: only that layer (and the image's small
// config and manifest) crosses the wire. A tampered blob is refused with the running version
// untouched; a podman state loss is recovered from the kept layout.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tempDir } from '../helpers/tmp.js';
import { join } from 'node:path';
import { createHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { freePort } from '../../scripts/lib/free-port.js';
import { httpText } from '../../scripts/lib/http-text.js';
import { isolatedPodman, type IsolatedPodman } from '../../scripts/lib/podman.js';
import { writeAppTree } from '../../scripts/lib/service-app.js';
import { keyArgs, releaseSide, type ReleaseSide } from '../cli/release-side.js';
import { listImages } from './podman-images.js';

const test = suite('oci layout images end to end');

interface Transfer { path: string; type: string; how: string; fetchedBytes: number; reusedBytes: number; from?: string }

interface Lab {
  host: HostFixture;
  side: ReleaseSide;
  build: IsolatedPodman;
  podman: IsolatedPodman;
  webPort: number;
  /** Build localhost/demo-web:<version> (base + mid layers shared, a top layer of its own) and release it. */
  release(version: string): Promise<void>;
  update(): Promise<{ code: number | null; transfers: Transfer[]; stderr: string }>;
  loseStorage(): Promise<void>;
  cleanup(): Promise<void>;
}

const serveScript = `/bin/busybox httpd -f -p 127.0.0.1:$PORT -h /www & trap 'kill $!; exit 0' TERM; wait`;

async function mustPodman(podman: IsolatedPodman, args: string[]): Promise<void> {
  const run = await podman.podman(args);
  if (run.code !== 0) throw new Error(`podman ${args.join(' ')}: ${run.stderr}`);
}

async function lab(): Promise<Lab> {
  const webPort = await freePort();
  const tmp = tempDir('tide-oci-podman-');
  const podman = isolatedPodman(join(tmp.path, 'host'));
  const build = isolatedPodman(join(tmp.path, 'build'));
  const host = await createHostFixture({
    serve: 'http',
    health: '[health]\ntimeout = "20s"\ninterval = "200ms"\nstable = "1s"\n',
    extraConfig: `
[[health.probe]]
type = "container"
name = "demo-web"

[[health.probe]]
type = "http"
url = "http://127.0.0.1:${webPort}/"

[podman]
argv = ${JSON.stringify(podman.argv)}

[[container]]
name = "demo-web"
image = "localhost/demo-web"
args = ["--network", "host", "--env", "PORT=${webPort}", "--stop-timeout", "2"]
`,
  });
  // `tide release build` runs podman as a child of the test: it needs the build store's CONTAINERS_CONF.
  process.env.CONTAINERS_CONF = build.env.CONTAINERS_CONF;
  await build.importBusyboxImage('localhost/web-base:0', [`CMD ["/bin/busybox", "sh", "-c", ${JSON.stringify(serveScript)}]`]);
  const context = join(host.dir, 'image-context');
  mkdirSync(join(context, 'www'), { recursive: true });
  writeFileSync(join(context, 'mid.bin'), randomBytes(300 * 1024));
  writeFileSync(join(context, 'Containerfile.mid'), 'FROM localhost/web-base:0\nCOPY mid.bin /mid.bin\n');
  await mustPodman(build, ['build', '-q', '-t', 'localhost/web-mid:0', '-f', join(context, 'Containerfile.mid'), context]);
  writeFileSync(join(context, 'Containerfile'), 'FROM localhost/web-mid:0\nCOPY www /www\n');
  const side = releaseSide(host);
  const key = keyArgs([side.keyFiles(host.key, 'release')]);
  return {
    host, side, build, podman, webPort,
    async release(version) {
      writeFileSync(join(context, 'www', 'index.html'), `web ${version}\n`);
      writeFileSync(join(context, 'www', 'top.bin'), randomBytes(200 * 1024));
      await mustPodman(build, ['build', '-q', '-t', `localhost/demo-web:${version}`, context]);
      const source = join(host.dir, 'sources', version);
      writeAppTree(source, version, 'good');
      await side.ok('build', '--tree', side.tree, '--app', 'demo', '--version', version, '--from', source,
        '--image', `localhost/demo-web:${version}`, '--image-layout', 'oci', '--podman-argv', JSON.stringify(build.argv), ...key);
      await side.ok('promote', '--tree', side.tree, '--app', 'demo', '--channel', 'stable', '--version', version, ...key);
      await side.publish();
    },
    async update() {
      const run = await host.tide(['update', '--json'], podman.env);
      const transfers = run.code === 0 ? (JSON.parse(run.stdout) as { transfers: Transfer[] }).transfers : [];
      return { code: run.code, transfers, stderr: run.stdout + run.stderr };
    },
    async loseStorage() {
      await podman.removeAllContainers();
      for (const dir of ['root', 'runroot']) {
        const path = join(tmp.path, 'host', 'podman', dir);
        rmSync(path, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
        mkdirSync(path, { recursive: true });
      }
    },
    async cleanup() {
      await podman.removeAllContainers();
      await build.removeAllContainers();
      await host.cleanup();
      tmp.cleanup();
    },
  };
}

interface Descriptor { digest: string; size: number }

/** The published image's top layer, read from the mirror tree as a host would. */
function topLayer(mirrorDir: string, version: string): Descriptor {
  const index = JSON.parse(readFileSync(join(mirrorDir, 'releases', version, 'images', 'demo-web', 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const manifestHex = index.manifests[0]!.digest.slice('sha256:'.length);
  const manifest = JSON.parse(readFileSync(join(mirrorDir, 'objects', 'sha256', manifestHex), 'utf8')) as { layers: Descriptor[] };
  assert.is(manifest.layers.length, 3, 'a 3-layer image');
  return manifest.layers[2]!;
}

const imageBytesServed = (host: HostFixture): number =>
  [...host.mirrorServer!.bytesServed].filter(([path]) => path.startsWith('objects/sha256/')).reduce((n, [, bytes]) => n + bytes, 0);

test('one changed layer of three: only it is fetched, the rest reused; a tampered blob is refused; recover reloads the kept layout', async () => {
  const l = await lab();
  try {
    await l.release('1.0.0');
    const first = await l.update();
    assert.is(first.code, 0, first.stderr);
    const firstImage = first.transfers.find((t) => t.type === 'image')!;
    assert.equal([firstImage.path, firstImage.how, firstImage.reusedBytes], ['releases/1.0.0/images/demo-web/index.json', 'full', 0]);
    assert.is(await httpText(l.webPort, 5), 'web 1.0.0');

    await l.release('1.1.0');
    const layer = topLayer(l.host.mirrorDir, '1.1.0');
    l.host.mirrorServer!.bytesServed.clear();
    const second = await l.update();
    assert.is(second.code, 0, second.stderr);
    const served = imageBytesServed(l.host);
    const image = second.transfers.find((t) => t.type === 'image')!;
    assert.equal([image.how, image.from], ['delta', '1.0.0']);
    assert.ok(image.reusedBytes > layer.size, `reused ${image.reusedBytes} bytes`);
    assert.ok(served <= layer.size * 1.05, `the mirror served ${served} bytes of image blobs for a ${layer.size}-byte changed layer`);
    assert.match(second.stderr, /releases\/1\.1\.0\/images\/demo-web\/index\.json: delta from 1\.0\.0, \d+ bytes fetched, \d+ bytes reused/);
    assert.is(await httpText(l.webPort, 5), 'web 1.1.0');

    // A blob whose bytes are not its digest's: refused (exit 3), 1.1.0 keeps running, nothing of 1.2.0 kept.
    await l.release('1.2.0');
    const tampered = join(l.host.mirrorDir, 'objects', 'sha256', topLayer(l.host.mirrorDir, '1.2.0').digest.slice('sha256:'.length));
    const good = readFileSync(tampered);
    const bad = Buffer.from(good);
    bad[bad.length >> 1]! ^= 0xff;
    writeFileSync(tampered, bad);
    const refused = await l.update();
    assert.is(refused.code, 3, refused.stderr);
    assert.match(refused.stderr, /objects\/sha256\/[0-9a-f]{64}/);
    assert.is(await httpText(l.webPort, 5), 'web 1.1.0');
    assert.not.ok(existsSync(join(l.host.stateDir, 'artifacts', '1.2.0')), 'nothing of the refused release is kept');
    assert.not.ok((await listImages(l.podman)).includes('localhost/demo-web:1.2.0'), 'nothing was loaded');

    // Repaired: 1.2.0 installs.
    writeFileSync(tampered, good);
    const third = await l.update();
    assert.is(third.code, 0, third.stderr);
    assert.is(await httpText(l.webPort, 5), 'web 1.2.0');

    // podman's state lost: recover loads 1.2.0 again from the kept layout, every blob checked first.
    await l.loseStorage();
    const recovered = await l.host.tide(['recover'], l.podman.env);
    assert.is(recovered.code, 0, recovered.stdout + recovered.stderr);
    assert.match(recovered.stderr, /loading it again from the verified artifact of 1\.2\.0/);
    assert.is(await httpText(l.webPort, 5), 'web 1.2.0');

    // A kept blob edited on disk: recover refuses to load it.
    await l.loseStorage();
    const keptLayer = join(l.host.stateDir, 'artifacts', '1.2.0', 'images', 'demo-web', 'blobs', 'sha256', topLayer(l.host.mirrorDir, '1.2.0').digest.slice('sha256:'.length));
    const edited = readFileSync(keptLayer);
    edited[100]! ^= 0xff;
    writeFileSync(keptLayer, edited);
    const refusedRecover = await l.host.tide(['recover'], l.podman.env);
    assert.is.not(refusedRecover.code, 0);
    assert.match(refusedRecover.stderr, /blob sha256:[0-9a-f]{64} of \d+ bytes, found it missing or different; not loading the image/);
    assert.not.ok((await listImages(l.podman)).includes('localhost/demo-web:1.2.0'));
  } finally {
    await l.cleanup();
  }
});

test.run();
