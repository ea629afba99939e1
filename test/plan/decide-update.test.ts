import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decideUpdate, type UpdateFacts } from '../../src/plan/decide-update.js';
import { inRollout, rolloutBucket } from '../../src/plan/rollout.js';
import { checkChannelPointer, checkManifestBytes } from '../../src/plan/check-documents.js';
import type { ChannelPointer } from '../../src/documents/schemas.js';
import { throwsWithCode } from '../helpers/assert-error.js';
import { createHash } from 'node:crypto';

const facts = (over: Partial<UpdateFacts>): UpdateFacts => ({
  target: '1.1.0', current: '1.0.0', revokedVersions: [], badVersions: [], inRollout: true, force: false, ...over,
});

test('installs a newer version', () => {
  assert.is(decideUpdate(facts({})).action, 'install');
});

test('does nothing when the target is current', () => {
  assert.is(decideUpdate(facts({ target: '1.0.0' })).action, 'none');
});

test('refuses a downgrade', () => {
  throwsWithCode(() => decideUpdate(facts({ target: '0.9.0' })), 'downgrade');
});

test('allows a downgrade when the current version is revoked', () => {
  const d = decideUpdate(facts({ target: '0.9.0', revokedVersions: ['1.0.0'] }));
  assert.is(d.action, 'install');
});

test('refuses a revoked target', () => {
  throwsWithCode(() => decideUpdate(facts({ revokedVersions: ['1.1.0'] })), 'revoked');
});

test('skips a bad version unless forced', () => {
  assert.is(decideUpdate(facts({ badVersions: ['1.1.0'] })).action, 'none');
  assert.is(decideUpdate(facts({ badVersions: ['1.1.0'], force: true })).action, 'install');
});

test('skips outside the rollout unless forced', () => {
  assert.is(decideUpdate(facts({ inRollout: false })).action, 'none');
  assert.is(decideUpdate(facts({ inRollout: false, force: true })).action, 'install');
});

test('computes the rollout bucket exactly as the spec defines it', () => {
  const hex = createHash('sha256').update('abc:demo:1.2.0').digest('hex');
  const expected = parseInt(hex.slice(0, 8), 16) % 100;
  assert.is(rolloutBucket('abc', 'demo', '1.2.0'), expected);
  assert.is(inRollout('abc', 'demo', '1.2.0', expected + 1), true);
  assert.is(inRollout('abc', 'demo', '1.2.0', expected), false);
  assert.is(inRollout('abc', 'demo', '1.2.0', undefined), true);
});

const pointer = (over: Partial<ChannelPointer> = {}): ChannelPointer => ({
  schema: 1, app: 'demo', channel: 'stable', version: '1.1.0', sequence: 5,
  published: '2026-01-01T00:00:00Z', expires: '2099-01-01T00:00:00Z',
  manifest: { path: 'releases/1.1.0/manifest.json', size: 3, sha256: createHash('sha256').update('abc').digest('hex') },
  ...over,
});
const expect = { app: 'demo', channel: 'stable', now: new Date('2026-06-01T00:00:00Z'), acceptedSequence: 5 };

test('refuses a pointer for another app or channel', () => {
  throwsWithCode(() => checkChannelPointer(pointer({ app: 'other' }), expect, {}), 'wrong-app');
  throwsWithCode(() => checkChannelPointer(pointer({ channel: 'beta' }), expect, {}), 'wrong-channel');
});

test('refuses an expired pointer', () => {
  throwsWithCode(() => checkChannelPointer(pointer({ expires: '2026-05-31T23:59:59Z' }), expect, {}), 'expired');
});

test('refuses a lower sequence and accepts an equal one', () => {
  throwsWithCode(() => checkChannelPointer(pointer({ sequence: 4 }), expect, {}), 'sequence');
  checkChannelPointer(pointer({ sequence: 5 }), expect, {});
});

test('refuses manifest bytes that differ from the pointer', () => {
  checkManifestBytes(Buffer.from('abc'), pointer(), {});
  throwsWithCode(() => checkManifestBytes(Buffer.from('abd'), pointer(), {}), 'hash');
  throwsWithCode(() => checkManifestBytes(Buffer.from('abcd'), pointer(), {}), 'size');
});

test.run();
