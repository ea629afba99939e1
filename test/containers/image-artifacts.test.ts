// test-needs: podman
// Image artifacts with real podman in an isolated store: loaded with exactly the
// manifest's ref, or refused before `podman load` could move a tag.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, copyFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { createImageStage, reloadKeptImage } from '../../src/containers/image-artifacts.js';
import { readOciArchive } from '../../src/containers/oci-archive.js';
import { createPodman } from '../../src/system/podman.js';
import { createProcessRunner } from '../../src/system/process-runner.js';
import { layoutFor } from '../../src/store/layout.js';
import { silentLogger } from '../../src/log/logger.js';
import type { ReleaseManifest } from '../../src/documents/schemas.js';
import { importWebImage } from '../../scripts/lib/podman-images.js';
import { isolatedPodman, type IsolatedPodman } from '../../scripts/lib/podman.js';
import { rejectsWithCode } from '../helpers/assert-error.js';
import { tempDir } from '../helpers/tmp.js';
import { listImages, saveArchive } from './podman-images.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** A release as stage-release leaves it: artifacts/<v>/images/… and manifest.json beside them. */
function keepRelease(stateDir: string, version: string, images: { ref: string; archive: string }[]): ReleaseManifest {
  const dir = join(stateDir, 'artifacts', version);
  mkdirSync(join(dir, 'images'), { recursive: true });
  const artifacts: ReleaseManifest['artifacts'] = [{ type: 'bundle', path: `demo-${version}.tar.gz`, size: 1, sha256: '0'.repeat(64) }];
  for (const [i, image] of images.entries()) {
    const path = `images/image-${i}.oci.tar`;
    copyFileSync(image.archive, join(dir, path));
    const bytes = readFileSync(join(dir, path));
    artifacts.push({ type: 'image', path, size: bytes.length, sha256: sha256(bytes), image: image.ref });
  }
  const manifest: ReleaseManifest = { schema: 1, app: 'demo', version, published: new Date().toISOString(), artifacts };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return manifest;
}

function hostSide(tmp: string, host: IsolatedPodman) {
  const stateDir = join(tmp, 'state');
  const layout = layoutFor(stateDir);
  const podman = createPodman({ argv: host.argv, runner: { run: (argv, opts) => createProcessRunner().run(argv, { ...opts, env: { ...host.env, ...opts?.env } }) } });
  return { stateDir, layout, podman, stage: createImageStage({ podman, layout, logger: silentLogger }) };
}

test('reads the ref and the image id an oci-archive will load as', async () => {
  const tmp = tempDir();
  try {
    const build = isolatedPodman(join(tmp.path, 'build'));
    await importWebImage(build, 'localhost/demo-web:1.0.0', 'web 1.0.0');
    const archive = await saveArchive(build, 'localhost/demo-web:1.0.0', tmp.path);
    const read = await readOciArchive(archive);
    assert.equal(read.refs, ['localhost/demo-web:1.0.0']);
    const id = (await build.podman(['image', 'inspect', '--format', '{{.Id}}', 'localhost/demo-web:1.0.0'])).stdout.trim();
    assert.is(read.imageId, id);
    writeFileSync(join(tmp.path, 'not.tar'), 'not a tar archive at all, just text\n'.repeat(40));
    await rejectsWithCode(readOciArchive(join(tmp.path, 'not.tar')), 'image-ref');
  } finally {
    tmp.cleanup();
  }
});

test('loads a release image with exactly the manifest ref', async () => {
  const tmp = tempDir();
  try {
    const build = isolatedPodman(join(tmp.path, 'build'));
    const host = isolatedPodman(join(tmp.path, 'host'));
    await importWebImage(build, 'localhost/demo-web:1.0.0', 'web 1.0.0');
    const archive = await saveArchive(build, 'localhost/demo-web:1.0.0', tmp.path);
    const side = hostSide(tmp.path, host);
    const manifest = keepRelease(side.stateDir, '1.0.0', [{ ref: 'localhost/demo-web:1.0.0', archive }]);
    await side.stage.load(manifest);
    assert.equal(await listImages(host), ['localhost/demo-web:1.0.0']);
    // Staging again (a resumed update) finds it loaded and does nothing.
    await side.stage.load(manifest);
    assert.equal(await listImages(host), ['localhost/demo-web:1.0.0']);
  } finally {
    tmp.cleanup();
  }
});

test('refuses an archive that carries another ref, before loading it', async () => {
  const tmp = tempDir();
  try {
    const build = isolatedPodman(join(tmp.path, 'build'));
    const host = isolatedPodman(join(tmp.path, 'host'));
    await importWebImage(build, 'localhost/demo-web:9.9.9', 'web 9.9.9');
    const archive = await saveArchive(build, 'localhost/demo-web:9.9.9', tmp.path);
    const side = hostSide(tmp.path, host);
    const manifest = keepRelease(side.stateDir, '1.1.0', [{ ref: 'localhost/demo-web:1.1.0', archive }]);
    const err = await rejectsWithCode(side.stage.load(manifest), 'image-ref');
    assert.match(err.message, /expected the image archive to carry localhost\/demo-web:1\.1\.0, found localhost\/demo-web:9\.9\.9/);
    assert.is(err.where.file, 'releases/1.1.0/images/image-0.oci.tar');
    assert.equal(await listImages(host), []);
  } finally {
    tmp.cleanup();
  }
});

test('refuses a release that reuses a tag for a different image', async () => {
  const tmp = tempDir();
  try {
    const build = isolatedPodman(join(tmp.path, 'build'));
    const host = isolatedPodman(join(tmp.path, 'host'));
    await importWebImage(build, 'localhost/demo-web:1.0.0', 'web 1.0.0');
    const first = await saveArchive(build, 'localhost/demo-web:1.0.0', join(tmp.path));
    await importWebImage(host, 'localhost/demo-web:1.0.0', 'something else under the same tag');
    const before = (await host.podman(['image', 'inspect', '--format', '{{.Id}}', 'localhost/demo-web:1.0.0'])).stdout.trim();
    const side = hostSide(tmp.path, host);
    const manifest = keepRelease(side.stateDir, '1.0.0', [{ ref: 'localhost/demo-web:1.0.0', archive: first }]);
    const err = await rejectsWithCode(side.stage.load(manifest), 'image-ref');
    assert.match(err.message, /must not reuse a tag/);
    const after = (await host.podman(['image', 'inspect', '--format', '{{.Id}}', 'localhost/demo-web:1.0.0'])).stdout.trim();
    assert.is(after, before);
  } finally {
    tmp.cleanup();
  }
});

test('refuses two image artifacts of one repository', async () => {
  const tmp = tempDir();
  try {
    const host = isolatedPodman(join(tmp.path, 'host'));
    const side = hostSide(tmp.path, host);
    const manifest: ReleaseManifest = {
      schema: 1, app: 'demo', version: '1.0.0', published: new Date().toISOString(),
      artifacts: [
        { type: 'bundle', path: 'b.tar.gz', size: 1, sha256: '0'.repeat(64) },
        { type: 'image', path: 'images/a.oci.tar', size: 1, sha256: '0'.repeat(64), image: 'localhost/web:1' },
        { type: 'image', path: 'images/b.oci.tar', size: 1, sha256: '0'.repeat(64), image: 'localhost/web:2' },
      ],
    };
    const err = await rejectsWithCode(side.stage.load(manifest), 'image-ref');
    assert.match(err.message, /one image per repository/);
  } finally {
    tmp.cleanup();
  }
});

test('after a state loss, reloads a kept artifact only when it still matches the manifest', async () => {
  const tmp = tempDir();
  try {
    const build = isolatedPodman(join(tmp.path, 'build'));
    const host = isolatedPodman(join(tmp.path, 'host'));
    await importWebImage(build, 'localhost/demo-web:1.0.0', 'web 1.0.0');
    const archive = await saveArchive(build, 'localhost/demo-web:1.0.0', tmp.path);
    const side = hostSide(tmp.path, host);
    keepRelease(side.stateDir, '1.0.0', [{ ref: 'localhost/demo-web:1.0.0', archive }]);
    const deps = { podman: side.podman, layout: side.layout, logger: silentLogger };
    const kept = join(side.layout.artifactsDir('1.0.0'), 'images/image-0.oci.tar');
    appendFileSync(kept, Buffer.alloc(512));
    await rejectsWithCode(reloadKeptImage(deps, '1.0.0', 'localhost/demo-web:1.0.0'), 'size');
    const bytes = readFileSync(archive);
    bytes[bytes.length - 600] ^= 0xff;
    writeFileSync(kept, bytes);
    const err = await rejectsWithCode(reloadKeptImage(deps, '1.0.0', 'localhost/demo-web:1.0.0'), 'hash');
    assert.is(err.where.file, kept);
    assert.equal(await listImages(host), []);
    await rejectsWithCode(reloadKeptImage(deps, '1.0.0', 'localhost/other:1.0.0'), 'operator-needed');
    copyFileSync(archive, kept);
    await reloadKeptImage(deps, '1.0.0', 'localhost/demo-web:1.0.0');
    assert.equal(await listImages(host), ['localhost/demo-web:1.0.0']);
  } finally {
    tmp.cleanup();
  }
});

test.run();
