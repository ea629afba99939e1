import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { promoteChannel } from '../../src/release/promote-channel.js';
import { revokeReleases } from '../../src/release/revoke-releases.js';
import { parseChannelPointer } from '../../src/documents/parse-document.js';
import { rejectsWithCode } from '../helpers/assert-error.js';
import { tempDir } from '../helpers/tmp.js';
import { day, makeKey, makeSignedRelease, openSigned } from './release-fixtures.js';

const now = new Date('2026-11-23T10:00:00Z');

test('writes a signed pointer with sequence 1, published now and expiring in 30 days', async () => {
  const tmp = tempDir();
  try {
    const tree = join(tmp.path, 'tree');
    const key = await makeKey(join(tmp.path, 'keys'), 'a', now);
    await makeSignedRelease(tree, tmp.path, '1.2.0-alpha.3', key, now);
    const promoted = await promoteChannel({ tree, app: 'demo', channel: 'alpha', version: '1.2.0-alpha.3', signingKeys: [key.signing], now });
    assert.is(promoted.pointerFile, join(tree, 'channels', 'alpha.json'));
    assert.is(promoted.previousSequence, null);
    const bytes = readFileSync(promoted.pointerFile);
    const trust = { keys: [key.trusted], threshold: 1, now };
    const { document } = await openSigned(parseChannelPointer, bytes, readFileSync(promoted.signatureFile, 'utf8'), trust);
    const manifestBytes = readFileSync(join(tree, 'releases', '1.2.0-alpha.3', 'manifest.json'));
    assert.equal(document, {
      schema: 1, app: 'demo', channel: 'alpha', version: '1.2.0-alpha.3', sequence: 1,
      published: '2026-11-23T10:00:00Z', expires: '2026-12-23T10:00:00Z',
      manifest: {
        path: 'releases/1.2.0-alpha.3/manifest.json', size: manifestBytes.length,
        sha256: createHash('sha256').update(manifestBytes).digest('hex'),
      },
    });
    assert.not.ok('rollout' in JSON.parse(bytes.toString()), 'no rollout means 100%');
  } finally {
    tmp.cleanup();
  }
});

test('the sequence increases with every promotion, also to an older version', async () => {
  const tmp = tempDir();
  try {
    const tree = join(tmp.path, 'tree');
    const key = await makeKey(join(tmp.path, 'keys'), 'a', now);
    await makeSignedRelease(tree, tmp.path, '1.0.0', key, now);
    await makeSignedRelease(tree, tmp.path, '1.1.0', key, now);
    const promote = (version: string) => promoteChannel({ tree, app: 'demo', channel: 'stable', version, signingKeys: [key.signing], now });
    assert.is((await promote('1.0.0')).pointer.sequence, 1);
    assert.is((await promote('1.1.0')).pointer.sequence, 2);
    const back = await promote('1.0.0');
    assert.is(back.pointer.sequence, 3, 'a step back to 1.0.0 still moves the sequence forward');
    assert.is(back.previousVersion, '1.1.0');
    assert.is(back.previousSequence, 2);
    // Other channels count on their own.
    const beta = await promoteChannel({ tree, app: 'demo', channel: 'beta', version: '1.1.0', signingKeys: [key.signing], now });
    assert.is(beta.pointer.sequence, 1);
  } finally {
    tmp.cleanup();
  }
});

test('--expires and --rollout are written into the pointer', async () => {
  const tmp = tempDir();
  try {
    const tree = join(tmp.path, 'tree');
    const key = await makeKey(join(tmp.path, 'keys'), 'a', now);
    await makeSignedRelease(tree, tmp.path, '1.0.0', key, now);
    const promoted = await promoteChannel({
      tree, app: 'demo', channel: 'beta', version: '1.0.0', signingKeys: [key.signing], now, expiresInMs: 2 * 3_600_000, rolloutPercent: 25,
    });
    const pointer = JSON.parse(readFileSync(promoted.pointerFile, 'utf8'));
    assert.is(pointer.expires, '2026-11-23T12:00:00Z');
    assert.equal(pointer.rollout, { percent: 25 });
    await rejectsWithCode(promoteChannel({ tree, app: 'demo', channel: 'beta', version: '1.0.0', signingKeys: [key.signing], rolloutPercent: 101, now }), 'usage');
    await rejectsWithCode(promoteChannel({ tree, app: 'demo', channel: 'beta', version: '1.0.0', signingKeys: [key.signing], expiresInMs: 0, now }), 'usage');
    assert.is(JSON.parse(readFileSync(promoted.pointerFile, 'utf8')).sequence, 1, 'refusals wrote nothing');
  } finally {
    tmp.cleanup();
  }
});

test('two keys sign the pointer for threshold 2', async () => {
  const tmp = tempDir();
  try {
    const tree = join(tmp.path, 'tree');
    const a = await makeKey(join(tmp.path, 'keys'), 'a', now);
    const b = await makeKey(join(tmp.path, 'keys'), 'b', now);
    await makeSignedRelease(tree, tmp.path, '1.0.0', a, now);
    const promoted = await promoteChannel({ tree, app: 'demo', channel: 'stable', version: '1.0.0', signingKeys: [a.signing, b.signing], now });
    const trust = { keys: [a.trusted, b.trusted], threshold: 2, now };
    const { signers } = await openSigned(parseChannelPointer, readFileSync(promoted.pointerFile), readFileSync(promoted.signatureFile, 'utf8'), trust);
    assert.is(signers.length, 2);
  } finally {
    tmp.cleanup();
  }
});

test('refuses a release that was not built, or not signed', async () => {
  const tmp = tempDir();
  try {
    const tree = join(tmp.path, 'tree');
    const key = await makeKey(join(tmp.path, 'keys'), 'a', now);
    const missing = await rejectsWithCode(promoteChannel({ tree, app: 'demo', channel: 'alpha', version: '9.9.9', signingKeys: [key.signing], now }), 'usage');
    assert.match(missing.message, /no manifest/);
    await makeSignedRelease(tree, tmp.path, '1.0.0', key, now);
    rmSync(join(tree, 'releases', '1.0.0', 'manifest.json.asc'));
    await rejectsWithCode(promoteChannel({ tree, app: 'demo', channel: 'alpha', version: '1.0.0', signingKeys: [key.signing], now }), 'signature');
    assert.not.ok(existsSync(join(tree, 'channels', 'alpha.json')));
  } finally {
    tmp.cleanup();
  }
});

test('refuses a release whose artifact does not match its manifest', async () => {
  const tmp = tempDir();
  try {
    const tree = join(tmp.path, 'tree');
    const key = await makeKey(join(tmp.path, 'keys'), 'a', now);
    await makeSignedRelease(tree, tmp.path, '1.0.0', key, now);
    const bundle = join(tree, 'releases', '1.0.0', 'demo-1.0.0.tar.gz');
    appendFileSync(bundle, 'x');
    const size = await rejectsWithCode(promoteChannel({ tree, app: 'demo', channel: 'alpha', version: '1.0.0', signingKeys: [key.signing], now }), 'size');
    assert.is(size.where.file, bundle);
    const original = readFileSync(bundle).subarray(0, -1);
    original[original.length - 1] ^= 0xff;
    writeFileSync(bundle, original);
    await rejectsWithCode(promoteChannel({ tree, app: 'demo', channel: 'alpha', version: '1.0.0', signingKeys: [key.signing], now }), 'hash');
    rmSync(bundle);
    await rejectsWithCode(promoteChannel({ tree, app: 'demo', channel: 'alpha', version: '1.0.0', signingKeys: [key.signing], now }), 'usage');
  } finally {
    tmp.cleanup();
  }
});

test('refuses the wrong app, a revoked version and a revoked signing key', async () => {
  const tmp = tempDir();
  try {
    const tree = join(tmp.path, 'tree');
    const a = await makeKey(join(tmp.path, 'keys'), 'a', now);
    const b = await makeKey(join(tmp.path, 'keys'), 'b', now);
    await makeSignedRelease(tree, tmp.path, '1.0.0', a, now);
    await makeSignedRelease(tree, tmp.path, '1.1.0', a, now);
    await rejectsWithCode(promoteChannel({ tree, app: 'other', channel: 'alpha', version: '1.0.0', signingKeys: [a.signing], now }), 'wrong-app');
    await revokeReleases({ tree, app: 'demo', versions: ['1.0.0'], keys: [b.fingerprint], signingKeys: [a.signing], now });
    await rejectsWithCode(promoteChannel({ tree, app: 'demo', channel: 'alpha', version: '1.0.0', signingKeys: [a.signing], now }), 'revoked');
    await rejectsWithCode(promoteChannel({ tree, app: 'demo', channel: 'alpha', version: '1.1.0', signingKeys: [b.signing], now }), 'revoked');
    const ok = await promoteChannel({ tree, app: 'demo', channel: 'alpha', version: '1.1.0', signingKeys: [a.signing], now: new Date(now.getTime() + day) });
    assert.is(ok.pointer.sequence, 1);
  } finally {
    tmp.cleanup();
  }
});

test.run();
