// test-needs: network
// SPEC formats.md#oci-layout-images, the host's side without podman: an image index and its
// blobs on two real HTTP mirrors on 127.0.0.1 that count the bytes they serve; a kept version
// whose layout holds some of the blobs. Only missing blobs are fetched, each checked against
// its digest and size; every refusal names what and where.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { serveMirrorDir, type MirrorHttpServer } from '../helpers/mirror-http.js';
import { rejectsWithCode } from '../helpers/assert-error.js';
import { createMirrorClient } from '../../src/mirror/create-mirror-client.js';
import { layoutFor, type Layout } from '../../src/store/layout.js';
import type { Logger, LogEvent } from '../../src/log/logger.js';
import type { ImageArtifact, ReleaseManifest } from '../../src/documents/schemas.js';
import { releaseManifestSchema } from '../../src/documents/schemas.js';
import { stageOciImage } from '../../src/machine/stage-oci-image.js';
import { checkOciLayout } from '../../src/containers/oci-layout.js';
import { limits } from '../../src/limits.js';
import { publishOciLayout } from '../../src/release/write-image-blobs.js';

const test = suite('oci layout image blobs');

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const ref = 'localhost/demo-web:1.1.0';

interface Image {
  index: Buffer;
  blobs: Map<string, Buffer>;
  layers: Buffer[];
  manifestHex: string;
}

function descriptor(mediaType: string, bytes: Buffer) {
  return { mediaType, digest: `sha256:${sha(bytes)}`, size: bytes.length };
}

/** An OCI image: config, manifest and an index naming it with `refName` (two entries when `twice`). */
function makeImage(layers: Buffer[], refName: string, opts: { twice?: boolean; manifestSizeInIndex?: number } = {}): Image {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => `sha256:${sha(l)}`) } }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: descriptor('application/vnd.oci.image.config.v1+json', config),
    layers: layers.map((l) => descriptor('application/vnd.oci.image.layer.v1.tar', l)),
  }));
  const entry = { ...descriptor('application/vnd.oci.image.manifest.v1+json', manifest), annotations: { 'org.opencontainers.image.ref.name': refName } };
  if (opts.manifestSizeInIndex !== undefined) entry.size = opts.manifestSizeInIndex;
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: opts.twice ? [entry, entry] : [entry] }));
  const blobs = new Map([config, manifest, ...layers].map((b) => [sha(b), b] as const));
  return { index, blobs, layers, manifestHex: sha(manifest) };
}

const artifactOf = (image: Image, image_ = ref): ImageArtifact => ({ type: 'image', path: 'images/demo-web/index.json', size: image.index.length, sha256: sha(image.index), image: image_, layout: 'oci' });

function manifestOf(version: string, artifact: ImageArtifact): ReleaseManifest {
  return releaseManifestSchema.parse(manifestJson(version, artifact));
}

function manifestJson(version: string, artifact: ImageArtifact): unknown {
  return ({
    schema: 1, app: 'demo', version, published: '2026-01-01T00:00:00Z',
    artifacts: [{ type: 'bundle', path: `demo-${version}.tar.gz`, size: 1, sha256: '0'.repeat(64) }, artifact],
  });
}

interface Fixture {
  dir: string;
  layout: Layout;
  mirrors: MirrorHttpServer[];
  mirrorDirs: string[];
  events: LogEvent[];
  logger: Logger;
  publish(image: Image, mirrorIndexes?: number[]): void;
  /** A kept version whose layout holds `image` in full. */
  keep(version: string, image: Image): string;
  /** The verified index of `version` in its artifacts, as stage-release leaves it before the blobs. */
  stage(version: string, image: Image, artifact?: ImageArtifact): ReturnType<typeof stageOciImage>;
  imageBytesServed(): number;
  close(): Promise<void>;
}

async function fixture(): Promise<Fixture> {
  const tmp = tempDir('tide-oci-');
  const mirrorDirs = [join(tmp.path, 'mirror-a'), join(tmp.path, 'mirror-b')];
  const mirrors = [await serveMirrorDir(mirrorDirs[0]!), await serveMirrorDir(mirrorDirs[1]!)];
  const layout = layoutFor(join(tmp.path, 'state'));
  const events: LogEvent[] = [];
  const logger: Logger = { log: (_level, event) => events.push(event) };
  const writeLayout = (dir: string, image: Image) => {
    mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
    writeFileSync(join(dir, 'index.json'), image.index);
    for (const [hex, bytes] of image.blobs) writeFileSync(join(dir, 'blobs', 'sha256', hex), bytes);
  };
  return {
    dir: tmp.path, layout, mirrors, mirrorDirs, events, logger,
    publish(image, mirrorIndexes = [0, 1]) {
      for (const i of mirrorIndexes) {
        for (const [hex, bytes] of image.blobs) {
          mkdirSync(join(mirrorDirs[i]!, 'objects', 'sha256'), { recursive: true });
          writeFileSync(join(mirrorDirs[i]!, 'objects', 'sha256', hex), bytes);
        }
      }
    },
    keep(version, image) {
      const artifact = artifactOf(image, `localhost/demo-web:${version}`);
      const dir = layout.artifactsDir(version);
      writeLayout(join(dir, 'images', 'demo-web'), image);
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifestOf(version, artifact)));
      return join(dir, 'images', 'demo-web');
    },
    stage(version, image, artifact = artifactOf(image)) {
      const indexFile = join(layout.artifactsDir(version), artifact.path);
      mkdirSync(dirname(indexFile), { recursive: true });
      writeFileSync(indexFile, image.index);
      return stageOciImage({ layout, client: createMirrorClient(), logger }, manifestOf(version, artifact), artifact, mirrors.map((m) => m.url), ['1.0.0']);
    },
    imageBytesServed() {
      let total = 0;
      for (const m of mirrors) for (const [path, bytes] of m.bytesServed) if (path.startsWith('objects/sha256/')) total += bytes;
      return total;
    },
    async close() {
      for (const m of mirrors) await m.close();
      tmp.cleanup();
    },
  };
}

const base = randomBytes(300_000);
const middle = randomBytes(200_000);
const oldTop = randomBytes(100_000);
const newTop = randomBytes(100_000);
const v1 = () => makeImage([base, middle, oldTop], 'localhost/demo-web:1.0.0');
const v2 = (opts?: Parameters<typeof makeImage>[2]) => makeImage([base, middle, newTop], ref, opts);

test('a release changing one layer fetches only that layer, the config and the manifest; the rest is reused', async () => {
  const f = await fixture();
  try {
    f.keep('1.0.0', v1());
    const image = v2();
    f.publish(image);
    const transfer = await f.stage('1.1.0', image);
    assert.equal([transfer.type, transfer.how, transfer.from, transfer.reusedBytes], ['image', 'delta', '1.0.0', base.length + middle.length]);
    const served = f.imageBytesServed();
    assert.is(transfer.fetchedBytes, served, 'what tide reports is what the mirrors served');
    assert.ok(served <= newTop.length * 1.05, `served ${served} bytes for a ${newTop.length}-byte layer`);
    const plan = await checkOciLayout(join(f.layout.artifactsDir('1.1.0'), 'images/demo-web/index.json'), artifactOf(image));
    assert.is(plan.layers.length, 3);
    assert.ok(readFileSync(join(f.layout.artifactsDir('1.1.0'), 'images/demo-web/oci-layout'), 'utf8').includes('imageLayoutVersion'));
  } finally {
    await f.close();
  }
});

test('without a kept version every blob is fetched: how full', async () => {
  const f = await fixture();
  try {
    const image = v2();
    f.publish(image);
    const transfer = await f.stage('1.1.0', image);
    assert.equal([transfer.how, transfer.reusedBytes], ['full', 0]);
    assert.is(transfer.fetchedBytes, [...image.blobs.values()].reduce((n, b) => n + b.length, 0));
  } finally {
    await f.close();
  }
});

test('a blob whose bytes do not match its digest: the next mirror serves it; on every mirror it is refused (exit 3)', async () => {
  const f = await fixture();
  try {
    const image = v2();
    f.publish(image);
    const bad = randomBytes(newTop.length);
    writeFileSync(join(f.mirrorDirs[0]!, 'objects', 'sha256', sha(newTop)), bad);
    await f.stage('1.1.0', image);
    assert.ok(f.events.some((e) => e.message.includes(`failed for objects/sha256/${sha(newTop)}`)), 'the first mirror was tried and failed');
    rmSync(f.layout.artifactsDir('1.1.0'), { recursive: true });
    writeFileSync(join(f.mirrorDirs[1]!, 'objects', 'sha256', sha(newTop)), bad);
    const err = await rejectsWithCode(f.stage('1.1.0', image), 'hash');
    assert.is(err.exitCode, 3);
    assert.match(err.message, new RegExp(`objects/sha256/${sha(newTop)}`));
  } finally {
    await f.close();
  }
});

test('a blob longer than its descriptor says is refused: never read past its size', async () => {
  const f = await fixture();
  try {
    const image = v2();
    f.publish(image);
    for (const dir of f.mirrorDirs) writeFileSync(join(dir, 'objects', 'sha256', sha(newTop)), Buffer.concat([newTop, randomBytes(50_000)]));
    const err = await rejectsWithCode(f.stage('1.1.0', image), 'size');
    assert.is(err.exitCode, 3);
    assert.match(err.message, new RegExp(`objects/sha256/${sha(newTop)}`));
    assert.not.ok(existsSync(join(f.layout.artifactsDir('1.1.0'), 'images/demo-web/blobs/sha256', sha(newTop))), 'the oversized blob is not kept');
  } finally {
    await f.close();
  }
});

test('a mirror missing a blob is skipped for it: the next mirror serves it', async () => {
  const f = await fixture();
  try {
    const image = v2();
    f.publish(image);
    rmSync(join(f.mirrorDirs[0]!, 'objects', 'sha256', sha(newTop)));
    const transfer = await f.stage('1.1.0', image);
    assert.is(transfer.how, 'full');
    assert.ok(f.mirrors[1]!.requests.includes(`objects/sha256/${sha(newTop)}`));
  } finally {
    await f.close();
  }
});

test('an index naming two images, or another ref, is refused before any blob is fetched', async () => {
  const f = await fixture();
  try {
    const twice = v2({ twice: true });
    f.publish(twice);
    const err = await rejectsWithCode(f.stage('1.1.0', twice), 'image-ref');
    assert.match(err.message, /expected the image index to name one image, found 2/);
    assert.is(err.where.file, 'releases/1.1.0/images/demo-web/index.json');
    const other = makeImage([base, middle, newTop], 'localhost/other:1.1.0');
    const wrong = await rejectsWithCode(f.stage('1.1.0', other, artifactOf(other)), 'image-ref');
    assert.match(wrong.message, /expected the image index to carry localhost\/demo-web:1\.1\.0, found localhost\/other:1\.1\.0/);
    assert.is(f.imageBytesServed(), 0);
  } finally {
    await f.close();
  }
});

test('a manifest blob over the metadata cap is refused before a byte of it is fetched', async () => {
  const f = await fixture();
  try {
    const image = v2({ manifestSizeInIndex: limits.ociMetadataBytes + 1 });
    f.publish(image);
    const err = await rejectsWithCode(f.stage('1.1.0', image), 'size');
    assert.match(err.message, /image manifest to be at most 65536 bytes/);
    assert.is(f.imageBytesServed(), 0);
  } finally {
    await f.close();
  }
});

test('a kept blob edited on disk is never reused: it is fetched instead', async () => {
  const f = await fixture();
  try {
    const kept = f.keep('1.0.0', v1());
    const edited = Buffer.from(middle);
    edited[10] ^= 0xff;
    writeFileSync(join(kept, 'blobs', 'sha256', sha(middle)), edited);
    const image = v2();
    f.publish(image);
    const transfer = await f.stage('1.1.0', image);
    assert.equal([transfer.how, transfer.reusedBytes], ['delta', base.length]);
    assert.ok(f.events.some((e) => e.message.includes(`not reusing blob sha256:${sha(middle)} of 1.0.0`)));
    assert.ok(readFileSync(join(f.layout.artifactsDir('1.1.0'), 'images/demo-web/blobs/sha256', sha(middle))).equals(middle));
  } finally {
    await f.close();
  }
});

test('a staged layout with an edited blob does not check out: nothing would be loaded', async () => {
  const f = await fixture();
  try {
    const dir = f.keep('1.0.0', v1());
    const image = v1();
    const artifact = artifactOf(image, 'localhost/demo-web:1.0.0');
    await checkOciLayout(join(dir, 'index.json'), artifact);
    const edited = Buffer.from(base);
    edited[0] ^= 0xff;
    writeFileSync(join(dir, 'blobs', 'sha256', sha(base)), edited);
    const err = await rejectsWithCode(checkOciLayout(join(dir, 'index.json'), artifact), 'hash');
    assert.match(err.message, new RegExp(`blob sha256:${sha(base)}`));
  } finally {
    await f.close();
  }
});

test('release side: the saved layout becomes index.json plus objects/sha256 blobs; a blob already there is kept, a damaged one replaced', async () => {
  const f = await fixture();
  try {
    const image = v2();
    const saved = join(f.dir, 'saved');
    mkdirSync(join(saved, 'blobs', 'sha256'), { recursive: true });
    writeFileSync(join(saved, 'index.json'), image.index);
    for (const [hex, bytes] of image.blobs) writeFileSync(join(saved, 'blobs', 'sha256', hex), bytes);
    const tree = join(f.dir, 'tree');
    const first = await publishOciLayout(tree, saved, ref, 'images/demo-web/index.json', join(tree, 'releases/1.1.0/images/demo-web/index.json'));
    assert.equal(first.artifact, artifactOf(image));
    assert.equal(first.blobs, { written: image.blobs.size, kept: 0 });
    for (const [hex, bytes] of image.blobs) assert.ok(readFileSync(join(tree, 'objects/sha256', hex)).equals(bytes));
    writeFileSync(join(tree, 'objects/sha256', sha(base)), randomBytes(10));
    const second = await publishOciLayout(tree, saved, ref, 'images/demo-web/index.json', join(tree, 'releases/1.1.1/images/demo-web/index.json'));
    assert.equal(second.blobs, { written: 1, kept: image.blobs.size - 1 });
    assert.ok(readFileSync(join(tree, 'objects/sha256', sha(base))).equals(base), 'the damaged blob was replaced');
    // A saved layout that names another image is refused before anything is written.
    await rejectsWithCode(publishOciLayout(join(f.dir, 'tree2'), saved, 'localhost/demo-web:9.9.9', 'images/demo-web/index.json', join(f.dir, 'tree2/x/index.json')), 'image-ref');
    assert.not.ok(existsSync(join(f.dir, 'tree2', 'objects')));
  } finally {
    await f.close();
  }
});

test('forward compatible: an image layout this tide does not know is refused with the manifest, in one line naming it', () => {
  const parsed = releaseManifestSchema.safeParse({
    schema: 1, app: 'demo', version: '2.0.0', published: '2026-01-01T00:00:00Z',
    artifacts: [
      { type: 'bundle', path: 'demo-2.0.0.tar.gz', size: 1, sha256: '0'.repeat(64) },
      { type: 'image', layout: 'chunked-v9', path: 'images/web/index.json', size: 1, sha256: '0'.repeat(64), image: 'localhost/web:2.0.0' },
    ],
  });
  assert.not.ok(parsed.success);
  const issue = parsed.error!.issues[0]!;
  assert.equal(issue.path, ['artifacts', 1, 'layout']);
  assert.match(issue.message, /an image layout this tide knows .*a newer tide is needed/);
  assert.ok(releaseManifestSchema.safeParse(manifestOf('1.1.0', artifactOf(v2()))).success, 'the oci layout parses');
  const notIndex = { ...artifactOf(v2()), path: 'images/demo-web.oci.tar' };
  assert.not.ok(releaseManifestSchema.safeParse(manifestJson('1.1.0', notIndex)).success, 'an oci layout artifact names its index.json');
});

test.run();
