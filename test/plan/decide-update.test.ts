import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decideUpdate, type UpdateFacts } from '../../src/plan/decide-update.js';
import { inRollout, rolloutBucket } from '../../src/plan/rollout.js';
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

test.run();
