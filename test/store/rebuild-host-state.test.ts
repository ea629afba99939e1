// A damaged state.json rebuilt from what the host can still prove: the accepted
// sequences and revocations from the signed documents in the cache (signatures checked
// again with real OpenPGP keys), the damaged file kept aside, one warning line.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, createDocumentCache, listCachedDocuments } from '../../src/store/document-cache.js';
import { inspectHostState } from '../../src/store/host-state.js';
import { layoutFor, type Layout } from '../../src/store/layout.js';
import { repairHostState, type RebuildTrust } from '../../src/store/rebuild-host-state.js';
import { detachSign, makeKey, type TestKey } from '../helpers/keys.js';
import { tempDir } from '../helpers/tmp.js';

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');
const mirror = 'http://127.0.0.1:1/demo';

function pointer(sequence: number, fields: Record<string, unknown> = {}): Buffer {
  const now = Date.now();
  return Buffer.from(JSON.stringify({
    schema: 1, app: 'demo', channel: 'stable', version: `1.${sequence}.0`, sequence,
    published: new Date(now).toISOString(), expires: new Date(now + 86_400_000).toISOString(),
    manifest: { path: `releases/1.${sequence}.0/manifest.json`, size: 10, sha256: 'c'.repeat(64) },
    ...fields,
  }, null, 2));
}

function revocations(sequence: number, versions: string[], keys: string[] = []): Buffer {
  const now = Date.now();
  return Buffer.from(JSON.stringify({ schema: 1, app: 'demo', sequence, published: new Date(now).toISOString(), expires: new Date(now + 86_400_000).toISOString(), versions, keys }));
}

async function cache(layout: Layout, path: string, bytes: Buffer, signers: TestKey[], from = mirror): Promise<void> {
  createDocumentCache(layout).remember(from, path, { bytes, asc: await detachSign(bytes, signers), validators: { etag: `"${sha256(bytes).slice(0, 8)}"` } });
}

async function withHost(body: (h: { layout: Layout; key: TestKey; other: TestKey; warnings: string[]; repair: () => Promise<void> }) => Promise<void>): Promise<void> {
  const tmp = tempDir();
  try {
    const layout = layoutFor(tmp.path);
    const [key, other] = [await makeKey('release'), await makeKey('stranger')];
    const warnings: string[] = [];
    const trust: RebuildTrust = { app: 'demo', keys: [key.trusted], threshold: 1 };
    const repair = () => repairHostState(layout, { now: new Date(), trust: async () => trust, warn: (m) => warnings.push(m) });
    await body({ layout, key, other, warnings, repair });
  } finally {
    tmp.cleanup();
  }
}

const brokenFiles = (layout: Layout) => readdirSync(layout.stateDir).filter((n) => n.startsWith('state.json.broken-'));

test('the accepted sequence is rebuilt from the cached pointers the trusted keys signed, never lower', () =>
  withHost(async ({ layout, key, other, warnings, repair }) => {
    await cache(layout, 'channels/stable.json', pointer(5), [key]);
    await cache(layout, 'channels/beta.json', pointer(2, { channel: 'beta' }), [key], 'http://127.0.0.1:2/demo');
    // Not proof of anything: signed by a key this host does not trust, or for another app.
    await cache(layout, 'channels/stable.json', pointer(9), [other], 'http://127.0.0.1:3/demo');
    await cache(layout, 'channels/stable.json', pointer(8, { app: 'other' }), [key], 'http://127.0.0.1:4/demo');
    writeFileSync(layout.state, '{"schema":1,"sequences":{"stable":3},"bad":["1.4.0"],"histo');
    await repair();
    const { state, damage } = inspectHostState(layout);
    assert.is(damage, null, 'state.json is whole again');
    assert.equal(state.sequences, { stable: 5, beta: 2 });
    assert.equal(state.revocations, { sequence: null, versions: [], keys: [] }, 'a pointer is not a revocations list');
    assert.equal(state.bad, ['1.4.0']);
    assert.is(brokenFiles(layout).length, 1);
    assert.is(readFileSync(join(layout.stateDir, brokenFiles(layout)[0]!), 'utf8'), '{"schema":1,"sequences":{"stable":3},"bad":["1.4.0"],"histo');
    assert.is(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0]!, /^state\.json is not valid JSON \(.*\); kept as state\.json\.broken-\d{8}T\d{6}\.\d{3}Z; rebuilt sequences \(stable 5, beta 2; 2 verified pointer\(s\) in the cache\)/);
    assert.match(warnings[0]!, /current \(none\) and previous \(none\) from the links; kept intact: sequences, bad \(file .*state\.json\)$/);
  }));

test('a higher surviving sequence is kept when the cache holds only older pointers', () =>
  withHost(async ({ layout, key, repair }) => {
    await cache(layout, 'channels/stable.json', pointer(2), [key]);
    writeFileSync(layout.state, JSON.stringify({ schema: 1, sequences: { stable: 6 }, bad: 'not a list' }));
    await repair();
    assert.equal(inspectHostState(layout).state.sequences, { stable: 6 });
  }));

test('revocations are rebuilt from the cached lists the trusted keys signed, united with what survived', () =>
  withHost(async ({ layout, key, other, repair }) => {
    await cache(layout, 'revocations.json', revocations(4, ['1.0.1'], ['AB CD']), [key]);
    await cache(layout, 'revocations.json', revocations(7, ['1.9.9']), [other], 'http://127.0.0.1:3/demo');
    await cache(layout, 'channels/stable.json', pointer(9), [key]);
    writeFileSync(layout.state, JSON.stringify({ schema: 1, revocations: { sequence: 2, versions: ['0.9.0'], keys: 7 } }));
    await repair();
    assert.equal(inspectHostState(layout).state.revocations, { sequence: 4, versions: ['0.9.0', '1.0.1'], keys: ['abcd'] });
  }));

test('a whole state.json is left alone: no warning, no rewrite', () =>
  withHost(async ({ layout, key, warnings, repair }) => {
    await cache(layout, 'channels/stable.json', pointer(5), [key]);
    const text = readFileSync(layout.state, 'utf8');
    await repair();
    assert.equal(warnings, []);
    assert.is(readFileSync(layout.state, 'utf8'), text);
    assert.equal(brokenFiles(layout), []);
  }));

test('state.json gone on a host that verified something is rebuilt too (a crash between set-aside and rewrite)', () =>
  withHost(async ({ layout, key, warnings, repair }) => {
    await cache(layout, 'channels/stable.json', pointer(4), [key]);
    rmSync(layout.state);
    await repair();
    assert.equal(inspectHostState(layout).state.sequences, { stable: 4 });
    assert.match(warnings[0]!, /^state\.json is missing on a host that has installed or verified something; rebuilt sequences \(stable 4/);
  }));

test('a fresh host (no state, no cache, nothing installed) is not "repaired"', () =>
  withHost(async ({ layout, warnings, repair }) => {
    await repair();
    assert.equal(warnings, []);
    assert.equal(readdirSync(layout.stateDir), []);
  }));

test('damaged cache files are removed with their signature, in one warning line', () =>
  withHost(async ({ layout, key, warnings, repair }) => {
    const bytes = pointer(3);
    await cache(layout, 'channels/stable.json', bytes, [key]);
    writeFileSync(join(cacheDir(layout), sha256(bytes)), 'garbage');
    mkdirSync(join(cacheDir(layout), 'd'.repeat(64)));
    await repair();
    assert.equal(readdirSync(cacheDir(layout)), []);
    assert.is(warnings.length, 1);
    assert.match(warnings[0]!, /^damaged document cache file\(s\) cache\/[0-9a-f]{64}, cache\/[0-9a-f]{64} .*removed, fetched afresh/);
    for (const name of [sha256(bytes), 'd'.repeat(64)]) assert.ok(warnings[0]!.includes(`cache/${name}`), `names ${name}`);
    assert.is(createDocumentCache(layout).read(mirror, 'channels/stable.json'), undefined, 'not a hit');
  }));

test('a replayed older pointer served after the accepted one does not push the accepted one out of the cache', () =>
  withHost(async ({ layout, key, repair }) => {
    const accepted = pointer(5);
    await cache(layout, 'channels/stable.json', accepted, [key]);
    // The same mirror now serves sequence 3 (refused by the check, but cached as what it served).
    await cache(layout, 'channels/stable.json', pointer(3), [key]);
    createDocumentCache(layout).prune([mirror]);
    assert.ok(listCachedDocuments(layout).some((d) => d.sha256 === sha256(accepted)), 'the highest pointer is kept');
    writeFileSync(layout.state, 'garbage');
    await repair();
    assert.equal(inspectHostState(layout).state.sequences, { stable: 5 });
  }));

test.run();
