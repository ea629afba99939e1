// SPEC formats.md#rollout-fallback, the pure rules: which hosts outside the bucket take the
// fallback, and (release side) which fallback a promote names.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rolloutBucket, takesFallback } from '../../src/plan/rollout.js';
import { chooseFallback, previousFullRelease } from '../../src/release/rollout-fallback.js';
import type { ChannelPointer } from '../../src/documents/schemas.js';

const test = suite('rollout fallback rules');
const pin = { path: 'releases/1.0.0/manifest.json', size: 100, sha256: 'a'.repeat(64) };
const pointer = (version: string, percent?: number, fallback?: string): ChannelPointer => ({
  schema: 1, app: 'demo', channel: 'stable', version, sequence: 3, published: '2026-12-01T00:00:00Z', expires: '2026-12-31T00:00:00Z',
  manifest: pin, ...(percent !== undefined && { rollout: { percent } }), ...(fallback && { fallback: { version: fallback, manifest: pin } }),
});
const outside = rolloutBucket('m1', 'demo', '1.1.0'); // percent = bucket leaves m1 out
const host = (current: string | null, force = false) => ({ machineId: 'm1', app: 'demo', current, force });

test('outside the bucket: nothing, older or revoked current take the fallback; the fallback itself or newer do not', () => {
  const p = pointer('1.1.0', outside, '1.0.0');
  assert.is(takesFallback(p, host(null), []), true);
  assert.is(takesFallback(p, host('0.9.0'), []), true);
  assert.is(takesFallback(p, host('1.0.0'), []), false);
  assert.is(takesFallback(p, host('1.0.5'), []), false);
  assert.is(takesFallback(p, host('1.0.5'), ['1.0.5']), true, 'a recall');
});

test('inside the bucket, --force, or no fallback: the release', () => {
  assert.is(takesFallback(pointer('1.1.0', outside + 1, '1.0.0'), host(null), []), false);
  assert.is(takesFallback(pointer('1.1.0', outside, '1.0.0'), host(null, true), []), false);
  assert.is(takesFallback(pointer('1.1.0', outside), host(null), []), false);
});

test('promote names the previous full release, carries a fallback through a partial one, and none for a new channel', () => {
  assert.is(previousFullRelease(pointer('1.0.0'), '1.1.0'), '1.0.0');
  assert.is(previousFullRelease(pointer('1.0.0', 100), '1.1.0'), '1.0.0');
  assert.is(previousFullRelease(pointer('1.1.0', 10, '1.0.0'), '1.2.0'), '1.0.0');
  assert.is(previousFullRelease(pointer('1.1.0', 10), '1.2.0'), undefined);
  assert.is(previousFullRelease(undefined, '1.2.0'), undefined);
  assert.is(chooseFallback(undefined, pointer('1.0.0'), '1.1.0', 10).version, '1.0.0');
  assert.is(chooseFallback(undefined, pointer('1.0.0'), '1.1.0', undefined).version, undefined, 'a full rollout names none');
  assert.is(chooseFallback(null, pointer('1.0.0'), '1.1.0', 10).version, undefined);
  assert.is(chooseFallback('0.9.0', pointer('1.0.0'), '1.1.0', 10).version, '0.9.0');
});

test.run();
