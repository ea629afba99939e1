// test-needs: network
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMirrorClient } from '../../src/mirror/create-mirror-client.js';
import { redirectAllowed } from '../../src/mirror/http-mirror-client.js';
import { rejectsWithCode } from '../helpers/assert-error.js';
import { freePort } from '../../scripts/lib/free-port.js';
import { endlessHandler, serve, stallHandler, trickleHandler } from './mirror-server.js';

// Small limits so a misbehaving mirror is dropped within a second.
const quick = { connectTimeoutMs: 1_000, stallTimeoutMs: 300, documentDeadlineMs: 800, minBytesPerSecond: 1_000, minRateGraceMs: 300 };
const path = 'channels/stable.json';

test('fetches a document and its validators', async () => {
  const server = await serve((_req, res) => res.writeHead(200, { etag: '"v1"', 'last-modified': 'Mon, 23 Nov 2026 10:00:00 GMT' }).end('{"a":1}'));
  try {
    const doc = await createMirrorClient(quick).fetchDocument(`${server.url}/demo`, path, 1024);
    assert.is(doc.bytes.toString(), '{"a":1}');
    assert.is(doc.etag, '"v1"');
    assert.is(doc.lastModified, 'Mon, 23 Nov 2026 10:00:00 GMT');
    assert.is(doc.notModified, undefined);
    assert.is(server.requests[0].url, '/demo/channels/stable.json');
    assert.is(server.requests[0].headers['accept-encoding'], 'identity');
  } finally {
    await server.close();
  }
});

test('a refused connection is unreachable', async () => {
  const port = await freePort();
  const err = await rejectsWithCode(createMirrorClient(quick).fetchDocument(`http://127.0.0.1:${port}`, path, 1024), 'unreachable');
  assert.match(err.message, /ECONNREFUSED/);
  assert.is(err.where.mirror, `http://127.0.0.1:${port}`);
  assert.is(err.where.file, path);
  assert.is(err.exitCode, 4);
});

test('a 404 is not-found', async () => {
  const server = await serve((_req, res) => res.writeHead(404).end('nope'));
  try {
    const err = await rejectsWithCode(createMirrorClient(quick).fetchDocument(server.url, path, 1024), 'not-found');
    assert.match(err.message, /404/);
  } finally {
    await server.close();
  }
});

test('a 500 is unreachable and names the status', async () => {
  const server = await serve((_req, res) => res.writeHead(500).end('boom'));
  try {
    const err = await rejectsWithCode(createMirrorClient(quick).fetchDocument(server.url, path, 1024), 'unreachable');
    assert.match(err.message, /500 Internal Server Error/);
  } finally {
    await server.close();
  }
});

test('a mirror that sends headers then stalls times out', async () => {
  const server = await serve(stallHandler({ 'content-length': 100 }, Buffer.from('{"par')));
  try {
    const started = Date.now();
    const err = await rejectsWithCode(createMirrorClient({ ...quick, documentDeadlineMs: 10_000 }).fetchDocument(server.url, path, 1024), 'timeout');
    assert.match(err.message, /stalled after 5 bytes/);
    assert.ok(Date.now() - started < 3_000, 'gave up on the stall quickly');
  } finally {
    await server.close();
  }
});

test('a mirror that never answers the request times out', async () => {
  const server = await serve(() => { /* never answers */ });
  try {
    await rejectsWithCode(createMirrorClient(quick).fetchDocument(server.url, path, 1024), 'timeout');
  } finally {
    await server.close();
  }
});

test('a document trickling in past the deadline times out', async () => {
  const server = await serve(trickleHandler(50));
  try {
    const started = Date.now();
    const err = await rejectsWithCode(createMirrorClient(quick).fetchDocument(server.url, path, 1024), 'timeout');
    assert.match(err.message, /whole file within 800 ms/);
    assert.ok(Date.now() - started < 3_000);
  } finally {
    await server.close();
  }
});

test('an endless document is refused at the cap without reading on', async () => {
  const endless = endlessHandler();
  const server = await serve(endless);
  try {
    const started = Date.now();
    const err = await rejectsWithCode(createMirrorClient(quick).fetchDocument(server.url, path, 64 * 1024), 'size');
    assert.match(err.message, /at most 65536 bytes/);
    assert.is(err.exitCode, 3);
    assert.ok(Date.now() - started < 2_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(endless.sent() < 32 * 1024 * 1024, `the server could push only socket buffers, pushed ${endless.sent()}`);
  } finally {
    await server.close();
  }
});

test('a document whose Content-Length passes the cap is refused before its body', async () => {
  const server = await serve(stallHandler({ 'content-length': 10 * 1024 * 1024 }));
  try {
    const err = await rejectsWithCode(createMirrorClient({ ...quick, stallTimeoutMs: 5_000 }).fetchDocument(server.url, path, 1024), 'size');
    assert.match(err.message, /announces 10485760/);
  } finally {
    await server.close();
  }
});

test('sends validators and turns a 304 into notModified', async () => {
  const server = await serve((req, res) => {
    if (req.headers['if-none-match'] === '"v1"') res.writeHead(304, { etag: '"v1"' }).end();
    else res.writeHead(200, { etag: '"v1"' }).end('{}');
  });
  try {
    const client = createMirrorClient(quick);
    const doc = await client.fetchDocument(server.url, path, 1024, { etag: '"v1"', lastModified: 'Mon, 23 Nov 2026 10:00:00 GMT' });
    assert.is(doc.notModified, true);
    assert.is(doc.bytes.length, 0);
    assert.is(doc.etag, '"v1"');
    assert.is(server.requests[0].headers['if-modified-since'], 'Mon, 23 Nov 2026 10:00:00 GMT');
    const fresh = await client.fetchDocument(server.url, path, 1024, { etag: '"v0"' });
    assert.is(fresh.notModified, undefined);
    assert.is(fresh.bytes.toString(), '{}');
  } finally {
    await server.close();
  }
});

test('follows an http redirect', async () => {
  const server = await serve((req, res) => {
    if (req.url === '/old/channels/stable.json') res.writeHead(302, { location: '/new/channels/stable.json' }).end();
    else res.writeHead(200).end('moved');
  });
  try {
    const doc = await createMirrorClient(quick).fetchDocument(`${server.url}/old`, path, 1024);
    assert.is(doc.bytes.toString(), 'moved');
    assert.is(server.requests.length, 2);
  } finally {
    await server.close();
  }
});

test('does not follow a redirect to another scheme', async () => {
  const server = await serve((_req, res) => res.writeHead(302, { location: 'file:///etc/passwd' }).end());
  try {
    const err = await rejectsWithCode(createMirrorClient(quick).fetchDocument(server.url, path, 1024), 'unreachable');
    assert.match(err.message, /redirect to file:\/\/\/etc\/passwd/);
  } finally {
    await server.close();
  }
});

test('follows redirects only to http(s) and never from https down to http', () => {
  assert.ok(redirectAllowed('http://a/x', '/y'));
  assert.ok(redirectAllowed('http://a/x', 'https://b/y'));
  assert.ok(redirectAllowed('https://a/x', 'https://b/y'));
  assert.not.ok(redirectAllowed('https://a/x', 'http://b/y'));
  assert.not.ok(redirectAllowed('http://a/x', 'file:///etc/passwd'));
  assert.not.ok(redirectAllowed('http://a/x', 'ftp://b/y'));
  assert.not.ok(redirectAllowed('http://a/x', 'http://[bad'));
});

test('gives up after a few redirects', async () => {
  const server = await serve((req, res) => res.writeHead(302, { location: `${req.url}x` }).end());
  try {
    const err = await rejectsWithCode(createMirrorClient({ ...quick, maxRedirects: 3 }).fetchDocument(server.url, path, 1024), 'unreachable');
    assert.match(err.message, /at most 3 redirects/);
    assert.is(server.requests.length, 4);
  } finally {
    await server.close();
  }
});

test('reports exactly the bytes on the wire, even when the mirror claims gzip', async () => {
  const server = await serve((_req, res) => res.writeHead(200, { 'content-encoding': 'gzip' }).end('not really gzip'));
  try {
    const doc = await createMirrorClient(quick).fetchDocument(server.url, path, 1024);
    assert.is(doc.bytes.toString(), 'not really gzip');
  } finally {
    await server.close();
  }
});

test.run();
