import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createMirrorClient } from '../../src/mirror/create-mirror-client.js';
import { rejectsWithCode } from '../helpers/assert-error.js';
import { tempDir } from '../helpers/tmp.js';
import { patternBytes, sha256 } from './mirror-server.js';

const path = 'releases/1.0.0/demo-1.0.0.tar.gz';

function mirrorAt(root: string): string {
  mkdirSync(join(root, 'channels'), { recursive: true });
  mkdirSync(join(root, 'releases', '1.0.0'), { recursive: true });
  return pathToFileURL(root).href;
}

test('fetches a document from a file:// mirror', async () => {
  const tmp = tempDir();
  try {
    const mirror = mirrorAt(join(tmp.path, 'm'));
    writeFileSync(join(tmp.path, 'm', 'channels', 'stable.json'), '{"v":1}');
    const doc = await createMirrorClient().fetchDocument(mirror, 'channels/stable.json', 1024);
    assert.is(doc.bytes.toString(), '{"v":1}');
    assert.ok(doc.etag);
    assert.ok(doc.lastModified);
  } finally {
    tmp.cleanup();
  }
});

test('a missing file is not-found', async () => {
  const tmp = tempDir();
  try {
    const mirror = mirrorAt(join(tmp.path, 'm'));
    const err = await rejectsWithCode(createMirrorClient().fetchDocument(mirror, 'channels/beta.json', 1024), 'not-found');
    assert.is(err.where.mirror, mirror);
    assert.is(err.where.file, 'channels/beta.json');
    await rejectsWithCode(createMirrorClient().fetchDocument(`${mirror}/nowhere`, 'channels/beta.json', 1024), 'not-found');
  } finally {
    tmp.cleanup();
  }
});

test('a document larger than the cap is refused', async () => {
  const tmp = tempDir();
  try {
    const mirror = mirrorAt(join(tmp.path, 'm'));
    writeFileSync(join(tmp.path, 'm', 'channels', 'stable.json'), Buffer.alloc(2048));
    const err = await rejectsWithCode(createMirrorClient().fetchDocument(mirror, 'channels/stable.json', 1024), 'size');
    assert.match(err.message, /the file has 2048/);
  } finally {
    tmp.cleanup();
  }
});

test('a fifo in the mirror tree is refused without waiting for a writer', async () => {
  const tmp = tempDir();
  try {
    const mirror = mirrorAt(join(tmp.path, 'm'));
    execFileSync('mkfifo', [join(tmp.path, 'm', 'channels', 'stable.json')]);
    const err = await rejectsWithCode(createMirrorClient().fetchDocument(mirror, 'channels/stable.json', 1024), 'unreachable');
    assert.match(err.message, /regular file, found a fifo/);
  } finally {
    tmp.cleanup();
  }
});

test('answers a conditional request from the file identity', async () => {
  const tmp = tempDir();
  try {
    const mirror = mirrorAt(join(tmp.path, 'm'));
    const file = join(tmp.path, 'm', 'channels', 'stable.json');
    writeFileSync(file, '{"v":1}');
    const client = createMirrorClient();
    const first = await client.fetchDocument(mirror, 'channels/stable.json', 1024);
    const same = await client.fetchDocument(mirror, 'channels/stable.json', 1024, { etag: first.etag });
    assert.is(same.notModified, true);
    assert.is(same.bytes.length, 0);
    const byDate = await client.fetchDocument(mirror, 'channels/stable.json', 1024, { lastModified: first.lastModified });
    assert.is(byDate.notModified, true);
    // A publisher renames a new pointer into place: a new inode, so a new tag.
    writeFileSync(`${file}.new`, '{"v":2}');
    renameSync(`${file}.new`, file);
    const changed = await client.fetchDocument(mirror, 'channels/stable.json', 1024, { etag: first.etag });
    assert.is(changed.notModified, undefined);
    assert.is(changed.bytes.toString(), '{"v":2}');
  } finally {
    tmp.cleanup();
  }
});

test('copies an artifact through the hash and size checks', async () => {
  const tmp = tempDir();
  try {
    const mirror = mirrorAt(join(tmp.path, 'm'));
    const artifact = patternBytes(150_000);
    writeFileSync(join(tmp.path, 'm', path), artifact);
    const dest = join(tmp.path, 'bundle.tar.gz');
    let last = 0;
    await createMirrorClient().downloadArtifact(mirror, path, { size: artifact.length, sha256: sha256(artifact) }, dest, (bytes) => (last = bytes));
    assert.ok(readFileSync(dest).equals(artifact));
    assert.is(last, artifact.length);
    assert.not.ok(existsSync(`${dest}.part`));
  } finally {
    tmp.cleanup();
  }
});

test('resumes a .part from a file:// mirror', async () => {
  const tmp = tempDir();
  try {
    const mirror = mirrorAt(join(tmp.path, 'm'));
    const artifact = patternBytes(150_000);
    writeFileSync(join(tmp.path, 'm', path), artifact);
    const dest = join(tmp.path, 'bundle.tar.gz');
    writeFileSync(`${dest}.part`, artifact.subarray(0, 100_000));
    const seen: number[] = [];
    await createMirrorClient().downloadArtifact(mirror, path, { size: artifact.length, sha256: sha256(artifact) }, dest, (bytes) => seen.push(bytes));
    assert.ok(readFileSync(dest).equals(artifact));
    // The kept bytes are on disk from the start, and the part never went back below them.
    assert.is(seen[0], 100_000);
    assert.ok(seen.every((bytes) => bytes >= 100_000), `resumed, not restarted: ${seen.join(', ')}`);
    assert.is(seen.at(-1), artifact.length);
  } finally {
    tmp.cleanup();
  }
});

test('a tampered or wrongly sized file:// artifact is refused and leaves no .part', async () => {
  const tmp = tempDir();
  try {
    const mirror = mirrorAt(join(tmp.path, 'm'));
    const artifact = patternBytes(150_000);
    const tampered = Buffer.from(artifact);
    tampered[99] ^= 1;
    writeFileSync(join(tmp.path, 'm', path), tampered);
    const dest = join(tmp.path, 'bundle.tar.gz');
    const client = createMirrorClient();
    await rejectsWithCode(client.downloadArtifact(mirror, path, { size: artifact.length, sha256: sha256(artifact) }, dest), 'hash');
    assert.not.ok(existsSync(`${dest}.part`));
    const err = await rejectsWithCode(client.downloadArtifact(mirror, path, { size: 1000, sha256: sha256(artifact) }, dest), 'size');
    assert.match(err.message, /the file has 150000/);
    assert.not.ok(existsSync(`${dest}.part`));
    assert.not.ok(existsSync(dest));
    await rejectsWithCode(client.downloadArtifact(mirror, 'releases/1.0.0/other.tar.gz', { size: 1, sha256: sha256(artifact) }, dest), 'not-found');
    assert.not.ok(existsSync(`${dest}.part`), 'no empty .part is left behind');
    assert.is(statSync(join(tmp.path, 'm', path)).size, 150_000, 'the mirror is only read');
  } finally {
    tmp.cleanup();
  }
});

test.run();
