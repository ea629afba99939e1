import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { revokeReleases } from '../../src/release/revoke-releases.js';
import { parseRevocations } from '../../src/documents/parse-document.js';
import { rejectsWithCode } from '../helpers/assert-error.js';
import { tempDir } from '../helpers/tmp.js';
import { makeKey, openSigned } from './release-fixtures.js';

const now = new Date('2026-11-23T10:00:00Z');

test('writes signed revocations with sequence 1 and a 30-day expiry', async () => {
  const tmp = tempDir();
  try {
    const tree = join(tmp.path, 'tree');
    const key = await makeKey(join(tmp.path, 'keys'), 'a', now);
    const written = await revokeReleases({ tree, app: 'demo', versions: ['1.1.0'], signingKeys: [key.signing], now });
    assert.is(written.file, join(tree, 'revocations.json'));
    const trust = { keys: [key.trusted], threshold: 1, now };
    const { document } = await openSigned(parseRevocations, readFileSync(written.file), readFileSync(written.signatureFile, 'utf8'), trust);
    assert.equal(document, {
      schema: 1, app: 'demo', sequence: 1, published: '2026-11-23T10:00:00Z', expires: '2026-12-23T10:00:00Z',
      versions: ['1.1.0'], keys: [],
    });
  } finally {
    tmp.cleanup();
  }
});

test('merges with the existing list (a union) and moves the sequence on', async () => {
  const tmp = tempDir();
  try {
    const tree = join(tmp.path, 'tree');
    const a = await makeKey(join(tmp.path, 'keys'), 'a', now);
    const old = await makeKey(join(tmp.path, 'keys'), 'old', now);
    await revokeReleases({ tree, app: 'demo', versions: ['1.1.0', '1.0.0'], signingKeys: [a.signing], now });
    // A fingerprint as gpg prints it: upper case, in groups.
    const spaced = old.fingerprint.toUpperCase().replace(/(.{4})/g, '$1 ').trim();
    const second = await revokeReleases({ tree, app: 'demo', versions: ['1.1.0', '1.2.0'], keys: [spaced], signingKeys: [a.signing], now });
    assert.is(second.revocations.sequence, 2);
    assert.is(second.previousSequence, 1);
    assert.equal(second.revocations.versions, ['1.1.0', '1.0.0', '1.2.0']);
    assert.equal(second.revocations.keys, [old.fingerprint]);
    assert.equal(second.added, { versions: ['1.2.0'], keys: [old.fingerprint] });
    const renewed = await revokeReleases({ tree, app: 'demo', signingKeys: [a.signing], now: new Date('2026-12-20T00:00:00Z') });
    assert.is(renewed.revocations.sequence, 3, 'nothing to add: re-signed with a new expiry');
    assert.is(renewed.revocations.expires, '2027-01-19T00:00:00Z');
    assert.equal(renewed.revocations.versions, ['1.1.0', '1.0.0', '1.2.0']);
  } finally {
    tmp.cleanup();
  }
});

test('refuses to sign with a key it revokes (hosts would ignore that signature)', async () => {
  const tmp = tempDir();
  try {
    const tree = join(tmp.path, 'tree');
    const a = await makeKey(join(tmp.path, 'keys'), 'a', now);
    await rejectsWithCode(revokeReleases({ tree, app: 'demo', keys: [a.fingerprint], signingKeys: [a.signing], now }), 'revoked');
    assert.not.ok(existsSync(join(tree, 'revocations.json')));
  } finally {
    tmp.cleanup();
  }
});

test('refuses a short fingerprint, a bad version and another app\'s list', async () => {
  const tmp = tempDir();
  try {
    const tree = join(tmp.path, 'tree');
    const a = await makeKey(join(tmp.path, 'keys'), 'a', now);
    await rejectsWithCode(revokeReleases({ tree, app: 'demo', keys: ['ABCD1234'], signingKeys: [a.signing], now }), 'usage');
    await rejectsWithCode(revokeReleases({ tree, app: 'demo', versions: ['latest'], signingKeys: [a.signing], now }), 'usage');
    await revokeReleases({ tree, app: 'demo', versions: ['1.0.0'], signingKeys: [a.signing], now });
    const before = readFileSync(join(tree, 'revocations.json'));
    await rejectsWithCode(revokeReleases({ tree, app: 'other', versions: ['1.0.0'], signingKeys: [a.signing], now }), 'wrong-app');
    assert.equal(readFileSync(join(tree, 'revocations.json')), before);
    writeFileSync(join(tree, 'revocations.json'), '{"schema": 2}');
    await rejectsWithCode(revokeReleases({ tree, app: 'demo', versions: ['1.0.0'], signingKeys: [a.signing], now }), 'schema');
  } finally {
    tmp.cleanup();
  }
});

test.run();
