// test-needs: podman
// `tide release build --image` with real podman in an isolated store.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildRelease } from '../../src/release/build-release.js';
import { planImages } from '../../src/release/save-images.js';
import { digestFile } from '../../src/release/release-tree.js';
import { rejectsWithCode, throwsWithCode } from '../helpers/assert-error.js';
import { isolatedPodman } from '../../scripts/lib/podman.js';
import { tempDir } from '../helpers/tmp.js';
import { makeSourceTree } from './release-fixtures.js';

test('saves each --image as images/<name>.oci.tar and names it in the manifest', async () => {
  const tmp = tempDir();
  try {
    const podman = isolatedPodman(tmp.path);
    await podman.importBusyboxImage('localhost/demo-web:1.2.0', ['CMD ["/bin/busybox", "httpd", "-f"]']);
    const built = await buildRelease({
      tree: join(tmp.path, 'tree'), app: 'demo', version: '1.2.0', sourceDir: makeSourceTree(join(tmp.path, 'src')),
      images: ['localhost/demo-web:1.2.0'], podmanArgv: podman.argv, podmanEnv: podman.env, sourceDateEpoch: 0,
    });
    const image = built.manifest.artifacts.find((a) => a.type === 'image');
    assert.ok(image, 'an image artifact');
    assert.is(image!.path, 'images/demo-web.oci.tar');
    assert.is(image!.type === 'image' && image!.image, 'localhost/demo-web:1.2.0');
    const file = join(built.dir, 'images', 'demo-web.oci.tar');
    assert.equal({ size: image!.size, sha256: image!.sha256 }, await digestFile(file));
    // An oci-archive: index.json names the ref podman load will give the image.
    const index = JSON.parse(execFileSync('tar', ['-xOf', file, 'index.json'], { encoding: 'utf8' }));
    assert.is(index.manifests[0].annotations['org.opencontainers.image.ref.name'], 'localhost/demo-web:1.2.0');
    // And podman can load it back (into a second isolated store).
    const other = isolatedPodman(join(tmp.path, 'other'));
    const loaded = await other.podman(['load', '-i', file]);
    assert.is(loaded.code, 0, loaded.stderr);
    const listed = await other.podman(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.match(listed.stdout, /localhost\/demo-web:1\.2\.0/);
  } finally {
    tmp.cleanup();
  }
});

test('a podman save that fails (unknown image) leaves no release behind', async () => {
  const tmp = tempDir();
  try {
    const podman = isolatedPodman(tmp.path);
    const tree = join(tmp.path, 'tree');
    const err = await rejectsWithCode(buildRelease({
      tree, app: 'demo', version: '1.0.0', sourceDir: makeSourceTree(join(tmp.path, 'src')),
      images: ['localhost/not-there:1.0.0'], podmanArgv: podman.argv, podmanEnv: podman.env,
    }), 'image-ref');
    assert.match(err.message, /podman save of localhost\/not-there:1\.0\.0 exited/);
    assert.equal(readdirSync(join(tree, 'releases')), []);
  } finally {
    tmp.cleanup();
  }
});

test('refuses image refs without a tag, with a digest, or two images with one name', () => {
  throwsWithCode(() => planImages(['localhost/demo-web']), 'image-ref');
  throwsWithCode(() => planImages(['localhost:5000/demo-web']), 'image-ref');
  throwsWithCode(() => planImages(['localhost/demo-web@sha256:abc']), 'image-ref');
  throwsWithCode(() => planImages(['localhost/Demo:1']), 'image-ref');
  throwsWithCode(() => planImages(['a/web:1', 'b/web:2']), 'image-ref');
  assert.equal(planImages(['localhost:5000/team/web:1.0']), [{ ref: 'localhost:5000/team/web:1.0', path: 'images/web.oci.tar' }]);
});

test('a bad image ref is refused before the bundle is built', async () => {
  const tmp = tempDir();
  try {
    const tree = join(tmp.path, 'tree');
    await rejectsWithCode(buildRelease({
      tree, app: 'demo', version: '1.0.0', sourceDir: makeSourceTree(join(tmp.path, 'src')), images: ['localhost/untagged'],
    }), 'image-ref');
    assert.not.ok(existsSync(tree));
  } finally {
    tmp.cleanup();
  }
});

test.run();
