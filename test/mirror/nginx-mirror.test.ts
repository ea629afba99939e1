// test-needs: nginx
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMirrorClient } from '../../src/mirror/mirror-client.js';
import { rejectsWithCode } from '../helpers/assert-error.js';
import { startNginx } from '../../scripts/lib/nginx.js';
import { tempDir } from '../helpers/tmp.js';
import { patternBytes, sha256 } from './mirror-server.js';

const quick = { connectTimeoutMs: 2_000, stallTimeoutMs: 2_000, documentDeadlineMs: 5_000, minBytesPerSecond: 1_000, minRateGraceMs: 1_000 };

// A mirror tree on disk: a channel pointer and one release with an artifact.
function writeMirrorTree(root: string, artifact: Buffer): void {
  mkdirSync(join(root, 'demo', 'channels'), { recursive: true });
  mkdirSync(join(root, 'demo', 'releases', '1.0.0'), { recursive: true });
  writeFileSync(join(root, 'demo', 'channels', 'stable.json'), '{"schema":1,"version":"1.0.0"}');
  writeFileSync(join(root, 'demo', 'releases', '1.0.0', 'demo-1.0.0.tar.gz'), artifact);
}

test('fetches a document and an artifact from nginx', async () => {
  const tmp = tempDir();
  const artifact = patternBytes(300_000);
  writeMirrorTree(join(tmp.path, 'www'), artifact);
  const nginx = await startNginx({ root: join(tmp.path, 'www') });
  try {
    const client = createMirrorClient(quick);
    const mirror = `${nginx.url}/demo/`;
    const doc = await client.fetchDocument(mirror, 'channels/stable.json', 1024);
    assert.is(doc.bytes.toString(), '{"schema":1,"version":"1.0.0"}');
    assert.ok(doc.etag, 'nginx sends an ETag');
    const dest = join(tmp.path, 'bundle.tar.gz');
    await client.downloadArtifact(mirror, 'releases/1.0.0/demo-1.0.0.tar.gz', { size: artifact.length, sha256: sha256(artifact) }, dest);
    assert.ok(readFileSync(dest).equals(artifact));
    await rejectsWithCode(client.fetchDocument(mirror, 'channels/beta.json', 1024), 'not-found');
  } finally {
    await nginx.stop();
    tmp.cleanup();
  }
});

test('a conditional request gets 304 from nginx for an unchanged document', async () => {
  const tmp = tempDir();
  writeMirrorTree(join(tmp.path, 'www'), patternBytes(10));
  const nginx = await startNginx({ root: join(tmp.path, 'www') });
  try {
    const client = createMirrorClient(quick);
    const mirror = `${nginx.url}/demo`;
    const first = await client.fetchDocument(mirror, 'channels/stable.json', 1024);
    const byTag = await client.fetchDocument(mirror, 'channels/stable.json', 1024, { etag: first.etag });
    assert.is(byTag.notModified, true);
    assert.is(byTag.bytes.length, 0);
    assert.is(byTag.etag, first.etag);
    const byDate = await client.fetchDocument(mirror, 'channels/stable.json', 1024, { lastModified: first.lastModified });
    assert.is(byDate.notModified, true);
    const stale = await client.fetchDocument(mirror, 'channels/stable.json', 1024, { etag: '"0-0"' });
    assert.is(stale.notModified, undefined);
    assert.is(stale.bytes.toString(), '{"schema":1,"version":"1.0.0"}');
  } finally {
    await nginx.stop();
    tmp.cleanup();
  }
});

test('resumes a real partial file with a Range request nginx answers with 206', async () => {
  const tmp = tempDir();
  const artifact = patternBytes(500_000, 3);
  writeMirrorTree(join(tmp.path, 'www'), artifact);
  const accessLog = join(tmp.path, 'access.log');
  const nginx = await startNginx({ root: join(tmp.path, 'www'), extraServerConfig: `access_log ${accessLog} combined;` });
  try {
    const dest = join(tmp.path, 'bundle.tar.gz');
    writeFileSync(`${dest}.part`, artifact.subarray(0, 123_456));
    const expect = { size: artifact.length, sha256: sha256(artifact) };
    await createMirrorClient(quick).downloadArtifact(`${nginx.url}/demo`, 'releases/1.0.0/demo-1.0.0.tar.gz', expect, dest);
    assert.ok(readFileSync(dest).equals(artifact));
    assert.not.ok(existsSync(`${dest}.part`));
    const lines = readFileSync(accessLog, 'utf8').trim().split('\n');
    assert.is(lines.length, 1);
    assert.match(lines[0], ` 206 ${artifact.length - 123_456} `);
  } finally {
    await nginx.stop();
    tmp.cleanup();
  }
});

test.run();
