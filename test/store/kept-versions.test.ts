// SPEC host-layout.md#kept-versions: current, previous, then the `keep` newest good versions.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { keptVersions } from '../../src/store/kept-versions.js';

const kept = (input: Parameters<typeof keptVersions>[0]) => [...keptVersions(input)].sort();

test('keeps current, previous and the newest good versions beyond them, in semver order', () => {
  const installed = ['1.0.0', '1.2.0', '1.10.0', '1.9.0', '2.0.0', '0.9.0'];
  assert.equal(kept({ current: '2.0.0', previous: '1.10.0', installed, bad: [], keep: 2 }), ['1.10.0', '1.2.0', '1.9.0', '2.0.0']);
});

test('a bad version is never one of the extras, however new', () => {
  const installed = ['1.0.0', '1.1.0', '1.2.0', '1.3.0'];
  // 1.2.0 failed here; the old rule (most recently installed) kept it and deleted 1.0.0.
  assert.equal(kept({ current: '1.3.0', previous: '1.1.0', installed, bad: ['1.2.0'], keep: 1 }), ['1.0.0', '1.1.0', '1.3.0']);
  assert.equal(kept({ current: '1.3.0', previous: '1.1.0', installed, bad: ['1.2.0', '1.0.0'], keep: 1 }), ['1.1.0', '1.3.0']);
});

test('current and previous stay even when marked bad, and keep = 0 keeps only them', () => {
  const installed = ['1.0.0', '1.1.0', '1.2.0'];
  assert.equal(kept({ current: '1.2.0', previous: '1.1.0', installed, bad: ['1.1.0', '1.2.0'], keep: 0 }), ['1.1.0', '1.2.0']);
  assert.equal(kept({ current: '1.0.0', previous: null, installed: ['1.0.0'], bad: [], keep: 1 }), ['1.0.0']);
});

test('prereleases order as semver says, and a name that is not a version is pruned first', () => {
  const installed = ['1.0.0', '1.1.0-rc.1', '1.1.0-rc.2', 'not-a-version'];
  assert.equal(kept({ current: '1.0.0', previous: null, installed, bad: [], keep: 2 }), ['1.0.0', '1.1.0-rc.1', '1.1.0-rc.2']);
});

test.run();
