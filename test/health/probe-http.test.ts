// test-needs: network
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createProber } from '../../src/health/probes.js';
import type { ProbeSpec } from '../../src/config/schema.js';
import { tempDir } from '../helpers/tmp.js';
import { closedPort, selfSignedCert, startHangingServer, startHttp, startHttps } from './test-servers.js';

const attempt = createProber();
const budget = { timeoutMs: 2_000 };
const http = (url: string, more: Partial<Extract<ProbeSpec, { type: 'http' }>> = {}): ProbeSpec =>
  ({ type: 'http', url, expect: 200, insecure: false, ...more });

test('passes when the status is the expected one', async () => {
  const server = await startHttp((_req, res) => res.end('ok'));
  try {
    const result = await attempt(http(server.url), budget);
    assert.equal(result, { ok: true, detail: 'answered 200', answered: true, refused: false });
  } finally {
    await server.close();
  }
});

test('fails on another status and says what it saw', async () => {
  const server = await startHttp((_req, res) => ((res.statusCode = 500), res.end('broken')));
  try {
    const result = await attempt(http(server.url), budget);
    assert.is(result.ok, false);
    assert.is(result.detail, 'answered 500, expected 200');
    assert.is(result.answered, true);
    assert.is(result.refused, false);
  } finally {
    await server.close();
  }
});

test('honours a non-200 expect', async () => {
  const server = await startHttp((_req, res) => ((res.statusCode = 204), res.end()));
  try {
    assert.is((await attempt(http(server.url, { expect: 204 }), budget)).ok, true);
    assert.is((await attempt(http(server.url), budget)).detail, 'answered 204, expected 200');
  } finally {
    await server.close();
  }
});

test('checks the body for the expected substring', async () => {
  const server = await startHttp((req, res) => res.end(req.url === '/ready' ? '{"status":"ready"}' : '{"status":"starting"}'));
  try {
    const ready = await attempt(http(`${server.url}ready`, { body: '"ready"' }), budget);
    assert.is(ready.ok, true);
    const starting = await attempt(http(`${server.url}starting`, { body: '"ready"' }), budget);
    assert.is(starting.ok, false);
    assert.is(starting.detail, 'answered 200 without "\\"ready\\"" in the body (read 21 bytes)');
  } finally {
    await server.close();
  }
});

test('reads at most 64 KiB of an endless body', async () => {
  const server = await startHttp((_req, res) => {
    const chunk = Buffer.alloc(16 * 1024, 'a');
    const pump = (): void => {
      while (res.write(chunk)) if (res.destroyed) return;
      res.once('drain', pump);
    };
    res.on('error', () => {});
    pump();
  });
  try {
    const result = await attempt(http(server.url, { body: 'ready' }), budget);
    assert.is(result.ok, false);
    assert.match(result.detail, /read 65536 bytes/);
  } finally {
    await server.close();
  }
});

test('a server that accepts and never answers times out the attempt', async () => {
  const server = await startHangingServer();
  try {
    const started = Date.now();
    const result = await attempt(http(server.url), { timeoutMs: 300 });
    const took = Date.now() - started;
    assert.is(result.ok, false);
    assert.is(result.detail, 'gave no answer within 300ms');
    assert.ok(took >= 250 && took < 1_500, `took ${took}ms`);
  } finally {
    await server.close();
  }
});

test('a closed port is refused', async () => {
  const port = await closedPort();
  const result = await attempt(http(`http://127.0.0.1:${port}/`), budget);
  assert.equal(result, { ok: false, detail: 'refused the connection', refused: true });
});

test('502, 503 and 504 count as refused, not as answered', async () => {
  for (const status of [502, 503, 504]) {
    const server = await startHttp((_req, res) => ((res.statusCode = status), res.end()));
    try {
      const result = await attempt(http(server.url), budget);
      assert.is(result.ok, false);
      assert.is(result.refused, true, `${status}`);
      assert.is(result.answered, false, `${status}`);
    } finally {
      await server.close();
    }
  }
});

test('https with a self-signed certificate: fails verification, passes with insecure or with ca', async () => {
  const dir = tempDir();
  const tls = selfSignedCert(dir.path);
  const server = await startHttps((_req, res) => res.end('ok'), tls);
  try {
    const strict = await attempt(http(server.url), budget);
    assert.is(strict.ok, false);
    assert.match(strict.detail, /^failed TLS verification: self.signed certificate/);
    assert.is((await attempt(http(server.url, { insecure: true }), budget)).ok, true);
    assert.is((await attempt(http(server.url, { ca: tls.certPath }), budget)).ok, true);
  } finally {
    await server.close();
    dir.cleanup();
  }
});

test('a missing CA file fails the attempt and names the file', async () => {
  const result = await attempt(http('https://127.0.0.1:1/', { ca: '/nonexistent/ca.pem' }), budget);
  assert.is(result.ok, false);
  assert.is(result.detail, 'cannot be checked: cannot read the CA file /nonexistent/ca.pem (ENOENT)');
});

test.run();
