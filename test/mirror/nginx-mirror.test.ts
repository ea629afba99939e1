// test-needs: nginx
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMirrorClient } from '../../src/mirror/create-mirror-client.js';
import { lastingValidators } from '../../src/mirror/http-mirror-client.js';
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
  // Published a while ago: validators given within 2 s of a file's mtime are not kept.
  const past = new Date(Date.now() - 60_000);
  for (const file of ['channels/stable.json', 'releases/1.0.0/demo-1.0.0.tar.gz']) utimesSync(join(root, 'demo', file), past, past);
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

test('a pointer replaced within the second by one of the same size is not taken for unchanged (nginx ETag is mtime-size)', async () => {
  const tmp = tempDir();
  const www = join(tmp.path, 'www');
  mkdirSync(join(www, 'demo', 'channels'), { recursive: true });
  const pointer = join(www, 'demo', 'channels', 'stable.json');
  writeFileSync(pointer, '{"schema":1,"version":"1.0.0"}');
  const nginx = await startNginx({ root: www });
  try {
    const client = createMirrorClient(quick);
    const mirror = `${nginx.url}/demo`;
    const first = await client.fetchDocument(mirror, 'channels/stable.json', 1024);
    // Fresh from its writer: nothing kept to ask "changed?" with.
    assert.equal([first.etag, first.lastModified], [undefined, undefined]);
    // The same size, the same second: nginx would give it the same ETag and Last-Modified.
    const { mtime } = statSync(pointer);
    writeFileSync(pointer, '{"schema":1,"version":"1.1.0"}');
    utimesSync(pointer, mtime, mtime);
    const second = await client.fetchDocument(mirror, 'channels/stable.json', 1024, { ...(first.etag && { etag: first.etag }), ...(first.lastModified && { lastModified: first.lastModified }) });
    assert.is(second.bytes.toString(), '{"schema":1,"version":"1.1.0"}');
  } finally {
    await nginx.stop();
    tmp.cleanup();
  }
});

test('validators are kept only when Last-Modified is at least 2 s before the response Date', () => {
  const date = 'Wed, 02 Dec 2026 10:00:10 GMT';
  assert.equal(lastingValidators({ etag: '"a-1"', 'last-modified': 'Wed, 02 Dec 2026 10:00:09 GMT', date }), {});
  assert.equal(lastingValidators({ etag: '"a-1"', 'last-modified': 'Wed, 02 Dec 2026 10:00:08 GMT', date }), { etag: '"a-1"', lastModified: 'Wed, 02 Dec 2026 10:00:08 GMT' });
  // No Date header: the host's clock judges.
  const now = () => Date.parse(date);
  assert.equal(lastingValidators({ 'last-modified': 'Wed, 02 Dec 2026 10:00:09 GMT' }, now), {});
  // An ETag without a Last-Modified (a content hash, say) is kept.
  assert.equal(lastingValidators({ etag: '"sha-abc"' }), { etag: '"sha-abc"' });
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
