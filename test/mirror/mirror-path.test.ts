import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mirrorFilePath, mirrorHttpUrl, mirrorScheme } from '../../src/mirror/mirror-path.js';
import { createMirrorClient } from '../../src/mirror/create-mirror-client.js';
import { rejectsWithCode, throwsWithCode } from '../helpers/assert-error.js';

test('joins a path under a base with or without a trailing slash', () => {
  assert.is(mirrorHttpUrl('https://m.example/demo', 'channels/stable.json'), 'https://m.example/demo/channels/stable.json');
  assert.is(mirrorHttpUrl('https://m.example/demo/', 'channels/stable.json'), 'https://m.example/demo/channels/stable.json');
  assert.is(mirrorHttpUrl('http://127.0.0.1:8080', 'revocations.json'), 'http://127.0.0.1:8080/revocations.json');
});

test('percent-encodes each segment so a path cannot smuggle a query or an encoded dot-dot', () => {
  assert.is(mirrorHttpUrl('http://m/demo', 'releases/1.0.0+b?x#y/a b'), 'http://m/demo/releases/1.0.0%2Bb%3Fx%23y/a%20b');
  assert.is(mirrorHttpUrl('http://m/demo', 'releases/%2e%2e/x'), 'http://m/demo/releases/%252e%252e/x');
});

test('keeps a query on the base (a CDN token) and drops a fragment', () => {
  assert.is(mirrorHttpUrl('https://cdn/demo?token=abc#frag', 'a/b.json'), 'https://cdn/demo/a/b.json?token=abc');
});

test('joins a path under a file:// base', () => {
  assert.is(mirrorFilePath('file:///srv/mirror', 'releases/1.0.0/manifest.json'), '/srv/mirror/releases/1.0.0/manifest.json');
  assert.is(mirrorFilePath('file:///srv/my%20mirror/', 'a.json'), '/srv/my mirror/a.json');
});

test('refuses paths that climb out of the mirror tree or are not relative', () => {
  for (const bad of ['../etc/passwd', 'releases/../../x', 'releases/..', '/etc/passwd', '', 'a//b', './a', 'a/./b', 'a/', 'a\\..\\b', 'a\nb']) {
    const err = throwsWithCode(() => mirrorHttpUrl('http://m/demo', bad), 'schema');
    assert.is(err.where.mirror, 'http://m/demo');
    assert.is(err.where.file, bad);
    throwsWithCode(() => mirrorFilePath('file:///srv/m', bad), 'schema');
  }
});

test('picks the client by scheme and refuses other schemes as configuration errors', () => {
  assert.is(mirrorScheme('http://a'), 'http');
  assert.is(mirrorScheme('https://a'), 'http');
  assert.is(mirrorScheme('file:///srv/m'), 'file');
  throwsWithCode(() => mirrorScheme('ftp://a/b'), 'config');
  throwsWithCode(() => mirrorScheme('not a url'), 'config');
});

test('the client refuses an ftp mirror before any I/O', async () => {
  const client = createMirrorClient();
  const err = await rejectsWithCode(client.fetchDocument('ftp://m/demo', 'channels/stable.json', 100), 'config');
  assert.is(err.exitCode, 2);
});

test.run();
