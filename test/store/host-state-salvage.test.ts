// state.json read field by field through its schema: what survives a cut, a hand edit,
// a newer tide's file, and what a damaged file is moved aside as.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspectHostState, readHostState, updateHostState, emptyHostState } from '../../src/store/host-state.js';
import { badFromHistory } from '../../src/store/salvage-host-state.js';
import { keptBrokenFiles, moveAside, readRawFile } from '../../src/store/persisted-file.js';
import { layoutFor } from '../../src/store/layout.js';
import { tempDir } from '../helpers/tmp.js';

const at = '2026-11-23T10:00:00.000Z';
const entry = (to: string, result: string, from: string | null = null, reason?: string) => ({ time: at, from, to, result, ...(reason ? { reason } : {}) });

/** A state dir holding `text` as state.json (and `current` → versions/<current>). */
function withState(text: string, body: (layout: ReturnType<typeof layoutFor>) => void, current?: string): void {
  const tmp = tempDir();
  try {
    const layout = layoutFor(tmp.path);
    writeFileSync(layout.state, text);
    if (current) {
      mkdirSync(layout.versionDir(current), { recursive: true });
      symlinkSync(`versions/${current}`, layout.current);
    }
    body(layout);
  } finally {
    tmp.cleanup();
  }
}

const good = {
  schema: 1,
  sequences: { stable: 7, beta: 3 },
  revocations: { sequence: 2, versions: ['1.0.1'], keys: [] },
  bad: ['1.2.0'],
  history: [entry('1.0.0', 'committed'), entry('1.2.0', 'rolled-back', '1.0.0', 'probe failed'), entry('1.1.0', 'committed', '1.0.0')],
  lastCheck: at, lastResult: 'up-to-date', lastSuccess: at,
  conditional: { 'http://m channels/stable.json': { etag: '"e"', sha256: 'a'.repeat(64) } },
  revocationsChecked: at,
  counters: { updates: 2, rollbacks: 1, failedProbes: 0 },
};

test('a whole file is read as it is, and a newer tide\'s unknown field is kept when written back', () =>
  withState(JSON.stringify({ ...good, rolloutNotes: { stable: 'b'.repeat(64) } }), (layout) => {
    const { state, damage } = inspectHostState(layout);
    assert.is(damage, null);
    assert.equal(state.sequences, { stable: 7, beta: 3 });
    assert.equal(state.history.length, 3);
    updateHostState(layout, (s) => { s.lastResult = 'committed'; });
    const written = JSON.parse(readFileSync(layout.state, 'utf8'));
    assert.equal(written.rolloutNotes, { stable: 'b'.repeat(64) });
    assert.is(written.lastResult, 'committed');
    assert.equal(readdirSync(layout.stateDir).filter((n) => n.includes('broken')), [], 'nothing moved aside');
  }));

test('counters an older tide wrote (no failedProbes) read failedProbes as 0, and are not damage', () =>
  withState(JSON.stringify({ schema: 1, counters: { updates: 3, rollbacks: 1 } }), (layout) => {
    const { state, damage } = inspectHostState(layout);
    assert.is(damage, null);
    assert.equal(state.counters, { updates: 3, rollbacks: 1, failedProbes: 0 });
  }));

test('fields an older tide did not write read as their defaults, and are not damage', () =>
  withState(JSON.stringify({ schema: 1, sequences: { stable: 1 }, bad: [], history: [] }), (layout) => {
    const { state, damage } = inspectHostState(layout);
    assert.is(damage, null);
    assert.equal(state.counters, { updates: 0, rollbacks: 0, failedProbes: 0 });
    assert.equal(state.conditional, {});
    assert.is(state.revocations.sequence, null);
  }));

test('a file cut short keeps every field before the cut and the complete history entries', () => {
  const text = JSON.stringify(good, null, 2);
  const cut = text.slice(0, text.indexOf('"1.1.0"') + 4); // inside the last history entry
  withState(cut, (layout) => {
    const { state, damage } = inspectHostState(layout);
    assert.ok(damage, 'damaged');
    assert.match(damage!.reason, /is not valid JSON/);
    assert.equal(state.sequences, { stable: 7, beta: 3 });
    assert.equal(state.bad, ['1.2.0'], 'the bad list before the cut is intact');
    assert.ok(damage!.intact.includes('bad'));
    assert.equal(state.history.map((h) => h.to), ['1.0.0', '1.2.0'], 'the cut entry is dropped');
    assert.is(state.lastCheck, null, 'fields after the cut fall back');
    assert.is(state.revocationsChecked, null, 'revocations are asked for again');
    assert.equal(state.counters, { updates: 1, rollbacks: 1, failedProbes: 0 }, 'counters from the surviving history');
  });
});

test('a number cut at the end of the file is never read as a smaller number', () =>
  withState('{"schema":1,"sequences":{"stable":123', (layout) => {
    const { state, damage } = inspectHostState(layout);
    assert.ok(damage);
    assert.equal(state.sequences, {}, 'stable: 12 must not be read');
  }));

test('a valid bad list survives a broken history entry; a broken sequence entry drops alone', () =>
  withState(JSON.stringify({ ...good, sequences: { stable: 7, beta: 'three' }, history: [good.history[0], { to: 42 }, good.history[2]] }), (layout) => {
    const { state, damage } = inspectHostState(layout);
    assert.ok(damage);
    assert.match(damage!.reason, /damaged field\(s\) sequences, history/);
    assert.equal(state.bad, ['1.2.0']);
    assert.equal(state.sequences, { stable: 7 });
    assert.equal(state.history.map((h) => h.to), ['1.0.0', '1.1.0']);
    assert.equal(state.counters, good.counters, 'intact counters are kept');
  }));

test('a damaged bad list is rebuilt from the history, never naming the version current runs', () =>
  withState(JSON.stringify({ ...good, bad: '1.2.0', history: [...good.history, entry('1.3.0', 'rolled-back', '1.1.0', 'unhealthy'), entry('1.4.0', 'rolled-back', '1.1.0', 'interrupted (SIGTERM) before the new version was verified')] }), (layout) => {
    const { state, damage } = inspectHostState(layout);
    assert.ok(damage);
    assert.equal(state.bad, ['1.2.0', '1.3.0'], '1.4.0 was interrupted, not unhealthy');
    assert.ok(damage!.rebuilt.some((r) => r.startsWith('bad [1.2.0, 1.3.0] from')));
  }, '1.1.0'));

test('badFromHistory: a later commit clears a version, the current one is never bad', () => {
  const history = [entry('1.2.0', 'rolled-back', '1.1.0', 'unhealthy'), entry('1.2.0', 'committed', '1.1.0'), entry('1.3.0', 'rollback-failed', '1.2.0', 'unhealthy'), entry('1.5.0', 'rolled-back', '1.2.0', 'the pending marker was damaged; settled on 1.2.0')];
  assert.equal(badFromHistory(history as never, null), ['1.3.0']);
  assert.equal(badFromHistory(history as never, '1.3.0'), []);
});

test('an unknown schema number is handled as damage, every field this tide knows still read', () =>
  withState(JSON.stringify({ ...good, schema: 2 }), (layout) => {
    const { state, damage } = inspectHostState(layout);
    assert.ok(damage);
    assert.match(damage!.reason, /has schema 2, this tide reads schema 1/);
    assert.equal(state.sequences, good.sequences);
    assert.equal(state.bad, good.bad);
    assert.is(state.schema, 1);
  }));

test('empty, a list, or a directory: damaged, read as empty, never a throw', () => {
  for (const text of ['', '   \n', '[1, 2]', 'null', '"text"']) {
    withState(text, (layout) => {
      const { state, damage } = inspectHostState(layout);
      assert.ok(damage, `damaged: ${JSON.stringify(text)}`);
      assert.equal({ ...state, revocationsChecked: null }, { ...emptyHostState(), revocationsChecked: null });
    });
  }
  const tmp = tempDir();
  try {
    const layout = layoutFor(tmp.path);
    mkdirSync(layout.state);
    const { damage } = inspectHostState(layout);
    assert.match(damage!.reason, /is a directory/);
    assert.equal(readHostState(layout).bad, []);
  } finally {
    tmp.cleanup();
  }
});

test('writing over a damaged file moves it aside first: the only copy is never lost', () =>
  withState('{"schema":1,"bad":["1.2.0"],"hist', (layout) => {
    updateHostState(layout, (s) => { s.lastResult = 'committed'; }, new Date(at));
    const aside = readdirSync(layout.stateDir).filter((n) => n.startsWith('state.json.broken-'));
    assert.equal(aside, ['state.json.broken-20261123T100000.000Z']);
    assert.is(readFileSync(join(layout.stateDir, aside[0]!), 'utf8'), '{"schema":1,"bad":["1.2.0"],"hist');
    const { state, damage } = inspectHostState(layout);
    assert.is(damage, null);
    assert.equal(state.bad, ['1.2.0']);
  }));

test(`moveAside keeps the ${keptBrokenFiles} newest broken files of a name, files or directories`, () => {
  const tmp = tempDir();
  try {
    const path = join(tmp.path, 'state.json');
    for (let i = 0; i < 5; i++) {
      if (i === 1) mkdirSync(path);
      else writeFileSync(path, `broken ${i}`);
      moveAside(path, new Date(Date.parse(at) + i * 1000));
    }
    writeFileSync(path, 'same second');
    moveAside(path, new Date(Date.parse(at) + 4000));
    const left = readdirSync(tmp.path).sort();
    assert.equal(left, ['state.json.broken-20261123T100003.000Z', 'state.json.broken-20261123T100004.000Z', 'state.json.broken-20261123T100004.000Z-2']);
    assert.not.ok(existsSync(path));
  } finally {
    tmp.cleanup();
  }
});

test('readRawFile: a missing file is missing, not damage', () => {
  const tmp = tempDir();
  try {
    assert.equal(readRawFile(join(tmp.path, 'nothing.json')), { kind: 'missing' });
  } finally {
    tmp.cleanup();
  }
});

test.run();
