import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseChannelPointer, parseReleaseManifest } from '../../src/documents/parse-document.js';
import { throwsWithCode } from '../helpers/assert-error.js';

const sha = 'a'.repeat(64);
const manifest = (artifacts: unknown[], extra: object = {}) => Buffer.from(JSON.stringify({
  schema: 1, app: 'demo', version: '1.0.0', published: '2026-11-23T10:00:00Z', artifacts, ...extra,
}));
const bundle = { type: 'bundle', path: 'demo-1.0.0.tar.gz', size: 10, sha256: sha };

test('parses a manifest and ignores unknown fields', () => {
  const m = parseReleaseManifest(manifest([bundle], { future: true }));
  assert.is(m.artifacts.length, 1);
  assert.not.ok('future' in m);
});

test('ignores an artifact type it does not know, so a newer release installs from its bundle', () => {
  const m = parseReleaseManifest(manifest([bundle, { type: 'sbom', path: 'sbom.json', size: 3, sha256: sha, format: 'spdx' }]));
  assert.equal(m.artifacts.map((a) => a.type), ['bundle']);
});

test('reads a tree artifact and checks it in full', () => {
  const tree = { type: 'tree', path: 'tree.json', size: 40, sha256: sha };
  assert.equal(parseReleaseManifest(manifest([bundle, tree])).artifacts.map((a) => a.type), ['bundle', 'tree']);
  throwsWithCode(() => parseReleaseManifest(manifest([bundle, { ...tree, sha256: 'x' }])), 'schema');
  throwsWithCode(() => parseReleaseManifest(manifest([bundle, tree, { ...tree, path: 't2.json' }])), 'schema');
});

test('refuses an unknown schema', () => {
  const err = throwsWithCode(() => parseReleaseManifest(Buffer.from(JSON.stringify({ schema: 2 }))), 'schema');
  assert.match(err.message, /schema 2/);
});

test('refuses a manifest without exactly one bundle', () => {
  throwsWithCode(() => parseReleaseManifest(manifest([])), 'schema');
  throwsWithCode(() => parseReleaseManifest(manifest([bundle, { ...bundle, path: 'b.tar.gz' }])), 'schema');
});

test('refuses artifact paths with .. or a leading slash', () => {
  throwsWithCode(() => parseReleaseManifest(manifest([{ ...bundle, path: '../x.tar.gz' }])), 'schema');
  throwsWithCode(() => parseReleaseManifest(manifest([{ ...bundle, path: '/x.tar.gz' }])), 'schema');
  throwsWithCode(() => parseReleaseManifest(manifest([{ ...bundle, path: 'a/../../x' }])), 'schema');
});

test('refuses a document over 1 MiB', () => {
  throwsWithCode(() => parseChannelPointer(Buffer.alloc(1024 * 1024 + 1, 0x20)), 'size');
});

test('refuses invalid JSON naming the document', () => {
  const err = throwsWithCode(() => parseChannelPointer(Buffer.from('{'), { file: 'channels/stable.json' }), 'schema');
  assert.match(err.message, /channel pointer/);
  assert.is(err.where.file, 'channels/stable.json');
});

test.run();
