import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createHash } from 'node:crypto';
import { promoteChannel } from '../../src/release/promote-channel.js';
import { revokeReleases } from '../../src/release/revoke-releases.js';
import { publishTree } from '../../src/release/publish-tree.js';
import { atomicFileWriter, type MirrorFileWriter } from '../../src/release/mirror-target.js';
import { publishStages } from '../../src/release/publish-plan.js';
import { rejectsWithCode } from '../helpers/assert-error.js';
import { tempDir } from '../helpers/tmp.js';
import { makeKey, makeSignedRelease, type TestKey } from './release-fixtures.js';

/** Two releases, alpha -> 1.1.0, stable -> 1.0.0, and revocations. */
async function makeTree(work: string): Promise<{ tree: string; key: TestKey }> {
  const tree = join(work, 'tree');
  const key = await makeKey(join(work, 'keys'), 'a');
  await makeSignedRelease(tree, work, '1.0.0', key);
  await makeSignedRelease(tree, work, '1.1.0', key);
  await promoteChannel({ tree, app: 'demo', channel: 'stable', version: '1.0.0', signingKeys: [key.signing] });
  await promoteChannel({ tree, app: 'demo', channel: 'alpha', version: '1.1.0', signingKeys: [key.signing] });
  await revokeReleases({ tree, app: 'demo', versions: ['0.9.0'], signingKeys: [key.signing] });
  return { tree, key };
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Records every write, and checks at each pointer or manifest write that what it names is already on the mirror. */
function recordingWriter(mirror: string, order: string[]): MirrorFileWriter {
  return {
    async write(source, target, expected) {
      const path = target.slice(mirror.length + 1);
      if (/^channels\/[^/]+\.json$/.test(path)) {
        const pointer = JSON.parse(readFileSync(source, 'utf8'));
        const manifestOnMirror = join(mirror, pointer.manifest.path);
        assert.ok(existsSync(manifestOnMirror), `${path} written before ${pointer.manifest.path}`);
        assert.is(sha256(manifestOnMirror), pointer.manifest.sha256);
        assert.ok(existsSync(`${target}.asc`), `${path} written before its signature`);
      }
      if (/^releases\/[^/]+\/manifest\.json$/.test(path)) {
        const manifest = JSON.parse(readFileSync(source, 'utf8'));
        for (const artifact of manifest.artifacts) {
          const onMirror = join(target, '..', artifact.path);
          assert.ok(existsSync(onMirror), `${path} written before ${artifact.path}`);
          assert.is(sha256(onMirror), artifact.sha256);
        }
      }
      order.push(path);
      await atomicFileWriter.write(source, target, expected);
    },
  };
}

test('publishes artifacts, then manifests, then revocations, then pointers, each signature before its document', async () => {
  const tmp = tempDir();
  try {
    const { tree } = await makeTree(tmp.path);
    const mirror = join(tmp.path, 'mirror');
    mkdirSync(mirror);
    const order: string[] = [];
    const [published] = await publishTree({ tree, mirrors: [mirror], writer: recordingWriter(mirror, order) });
    assert.equal(order, published!.copied.map((f) => f.path));
    const stages = published!.copied.map((f) => publishStages.indexOf(f.stage));
    assert.equal(stages, [...stages].sort((a, b) => a - b), 'stages never go backwards');
    assert.equal(order.slice(-4), ['channels/alpha.json.asc', 'channels/alpha.json', 'channels/stable.json.asc', 'channels/stable.json']);
    assert.equal(order.slice(-6, -4), ['revocations.json.asc', 'revocations.json']);
    assert.ok(order.indexOf('releases/1.0.0/demo-1.0.0.tar.gz') < order.indexOf('releases/1.0.0/manifest.json.asc'));
    assert.is(order.length, 18, '4 objects, 2 bundles, 2 trees, 2 manifests + 2 .asc, revocations + .asc, 2 pointers + 2 .asc');
    const objects = order.filter((p) => p.startsWith('objects/'));
    assert.is(objects.length, 4);
    assert.ok(objects.every((p) => order.indexOf(p) < order.indexOf('releases/1.0.0/manifest.json.asc')), 'objects before manifests');
    for (const path of order) assert.equal(readFileSync(join(mirror, path)), readFileSync(join(tree, path)), path);
  } finally {
    tmp.cleanup();
  }
});

test('publishing again copies nothing; a new promotion copies only the pointer and its signature', async () => {
  const tmp = tempDir();
  try {
    const { tree, key } = await makeTree(tmp.path);
    const mirror = join(tmp.path, 'mirror');
    mkdirSync(mirror);
    await publishTree({ tree, mirrors: [mirror] });
    const [again] = await publishTree({ tree, mirrors: [mirror] });
    assert.equal(again!.copied, []);
    assert.is(again!.unchanged.length, 18);
    await promoteChannel({ tree, app: 'demo', channel: 'stable', version: '1.1.0', signingKeys: [key.signing] });
    const [promoted] = await publishTree({ tree, mirrors: [mirror] });
    assert.equal(promoted!.copied.map((f) => f.path), ['channels/stable.json.asc', 'channels/stable.json']);
  } finally {
    tmp.cleanup();
  }
});

test('never deletes anything on the mirror and leaves no temp file', async () => {
  const tmp = tempDir();
  try {
    const { tree } = await makeTree(tmp.path);
    const mirror = join(tmp.path, 'mirror');
    mkdirSync(join(mirror, 'releases', '0.1.0'), { recursive: true });
    writeFileSync(join(mirror, 'releases', '0.1.0', 'manifest.json'), 'an old release');
    writeFileSync(join(mirror, 'index.html'), 'mirror landing page');
    await publishTree({ tree, mirrors: [pathToFileURL(mirror).href] });
    assert.is(readFileSync(join(mirror, 'index.html'), 'utf8'), 'mirror landing page');
    assert.ok(existsSync(join(mirror, 'releases', '0.1.0', 'manifest.json')));
    const hidden = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.name.startsWith('.') ? [e.name] : e.isDirectory() ? hidden(join(dir, e.name)) : []);
    assert.equal(hidden(mirror), []);
    assert.is(statSync(join(mirror, 'channels')).mode & 0o777, 0o755);
    assert.is(statSync(join(mirror, 'channels', 'alpha.json')).mode & 0o777, 0o644);
  } finally {
    tmp.cleanup();
  }
});

test('refuses other bytes for a released file on any mirror, before writing to any', async () => {
  const tmp = tempDir();
  try {
    const { tree } = await makeTree(tmp.path);
    const first = join(tmp.path, 'first');
    const second = join(tmp.path, 'second');
    mkdirSync(first);
    mkdirSync(join(second, 'releases', '1.0.0'), { recursive: true });
    writeFileSync(join(second, 'releases', '1.0.0', 'demo-1.0.0.tar.gz'), 'another build of 1.0.0');
    const err = await rejectsWithCode(publishTree({ tree, mirrors: [first, second] }), 'hash');
    assert.match(err.message, /immutable/);
    assert.is(err.where.file, 'releases/1.0.0/demo-1.0.0.tar.gz');
    assert.equal(readdirSync(first), [], 'the first mirror was not touched');
  } finally {
    tmp.cleanup();
  }
});

test('refuses to move a mirror\'s pointer back to a lower sequence', async () => {
  const tmp = tempDir();
  try {
    const { tree, key } = await makeTree(tmp.path);
    const oldTree = join(tmp.path, 'old-tree');
    cpSync(tree, oldTree, { recursive: true });
    await promoteChannel({ tree, app: 'demo', channel: 'alpha', version: '1.0.0', signingKeys: [key.signing] });
    const mirror = join(tmp.path, 'mirror');
    mkdirSync(mirror);
    await publishTree({ tree, mirrors: [mirror] });
    const pointer = readFileSync(join(mirror, 'channels', 'alpha.json'));
    const err = await rejectsWithCode(publishTree({ tree: oldTree, mirrors: [mirror] }), 'sequence');
    assert.match(err.message, /sequence 2 .* the tree has 1/);
    assert.equal(readFileSync(join(mirror, 'channels', 'alpha.json')), pointer);
  } finally {
    tmp.cleanup();
  }
});

test('refuses an unsigned pointer and a pointer whose release is missing from the tree', async () => {
  const tmp = tempDir();
  try {
    const { tree } = await makeTree(tmp.path);
    const mirror = join(tmp.path, 'mirror');
    mkdirSync(mirror);
    const signature = join(tree, 'channels', 'alpha.json.asc');
    const saved = readFileSync(signature);
    rmSync(signature);
    await rejectsWithCode(publishTree({ tree, mirrors: [mirror] }), 'signature');
    writeFileSync(signature, saved);
    rmSync(join(tree, 'releases', '1.1.0'), { recursive: true });
    const err = await rejectsWithCode(publishTree({ tree, mirrors: [mirror] }), 'hash');
    assert.match(err.message, /releases\/1\.1\.0\/manifest\.json/);
    assert.equal(readdirSync(mirror), []);
  } finally {
    tmp.cleanup();
  }
});

test('refuses an http mirror and a mirror directory that does not exist', async () => {
  const tmp = tempDir();
  try {
    const { tree } = await makeTree(tmp.path);
    await rejectsWithCode(publishTree({ tree, mirrors: ['https://mirror.example/demo'] }), 'usage');
    await rejectsWithCode(publishTree({ tree, mirrors: [join(tmp.path, 'typo')] }), 'usage');
    assert.not.ok(existsSync(join(tmp.path, 'typo')));
  } finally {
    tmp.cleanup();
  }
});

test.run();
