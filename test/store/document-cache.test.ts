// <state_dir>/cache: verified bytes by sha256 with their signature, validators in state.json.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, createDocumentCache } from '../../src/store/document-cache.js';
import { readHostState } from '../../src/store/host-state.js';
import { layoutFor } from '../../src/store/layout.js';
import { tempDir } from '../helpers/tmp.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

test('remembers bytes, signature and validators per mirror and path, and reads them back', () => {
  const tmp = tempDir();
  try {
    const layout = layoutFor(tmp.path);
    const cache = createDocumentCache(layout);
    assert.is(cache.read('http://a', 'channels/stable.json'), undefined);
    cache.remember('http://a', 'channels/stable.json', { bytes: Buffer.from('{"v":1}'), asc: 'SIG', validators: { etag: '"e1"' } });
    const read = cache.read('http://a', 'channels/stable.json');
    assert.equal([read?.bytes.toString(), read?.asc, read?.validators], ['{"v":1}', 'SIG', { etag: '"e1"' }]);
    assert.is(cache.read('http://b', 'channels/stable.json'), undefined, 'per mirror');
    assert.equal(readHostState(layout).conditional['http://a channels/stable.json'], { etag: '"e1"', sha256: sha256('{"v":1}') });
  } finally {
    tmp.cleanup();
  }
});

test('a cached file whose bytes no longer match its sha256 is not a hit', () => {
  const tmp = tempDir();
  try {
    const layout = layoutFor(tmp.path);
    const cache = createDocumentCache(layout);
    cache.remember('http://a', 'channels/stable.json', { bytes: Buffer.from('{"v":1}'), asc: 'SIG', validators: { etag: '"e1"' } });
    writeFileSync(join(cacheDir(layout), sha256('{"v":1}')), '{"v":2}');
    assert.is(cache.read('http://a', 'channels/stable.json'), undefined);
  } finally {
    tmp.cleanup();
  }
});

test('prune forgets removed mirrors and files nothing refers to, keeping the manifest a pointer pins', () => {
  const tmp = tempDir();
  try {
    const layout = layoutFor(tmp.path);
    const cache = createDocumentCache(layout);
    const manifest = '{"manifest":true}';
    const pointer = JSON.stringify({ version: '1.0.0', manifest: { sha256: sha256(manifest) } });
    cache.remember('http://a', 'channels/stable.json', { bytes: Buffer.from(pointer), asc: 'SIG-P', validators: { etag: '"p"' } });
    cache.remember('http://gone', 'channels/stable.json', { bytes: Buffer.from('{"old":1}'), asc: 'SIG-O', validators: { etag: '"o"' } });
    cache.rememberPinned({ bytes: Buffer.from(manifest), asc: 'SIG-M' });
    cache.rememberPinned({ bytes: Buffer.from('{"unpinned":1}'), asc: 'SIG-U' });
    cache.prune(['http://a']);
    assert.equal(Object.keys(readHostState(layout).conditional), ['http://a channels/stable.json']);
    const left = readdirSync(cacheDir(layout)).sort();
    assert.equal(left, [sha256(pointer), `${sha256(pointer)}.asc`, sha256(manifest), `${sha256(manifest)}.asc`].sort());
    assert.is(cache.readPinned(sha256(manifest))?.asc, 'SIG-M');
  } finally {
    tmp.cleanup();
  }
});

test('accepting revocations records them and when they were asked for', () => {
  const tmp = tempDir();
  try {
    const layout = layoutFor(tmp.path);
    const cache = createDocumentCache(layout);
    assert.is(cache.revocationsCheckedAt(), null);
    const at = new Date('2026-11-23T10:00:00Z');
    cache.acceptRevocations({ sequence: 2, versions: ['1.1.0'], keys: [] }, at);
    assert.equal(cache.revocationsCheckedAt(), at);
    assert.equal(readHostState(layout).revocations, { sequence: 2, versions: ['1.1.0'], keys: [] });
  } finally {
    tmp.cleanup();
  }
});

test.run();
