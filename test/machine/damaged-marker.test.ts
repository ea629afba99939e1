// A pending.json that cannot be read: its schema and reader, and the marker tide
// settles with instead, decided from the links, the history and versions/ (pure).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { inspectPendingMarker, newPendingMarker, readPendingMarker, type PendingMarker } from '../../src/machine/pending-marker.js';
import { planAfterDamagedMarker, lastSettledCurrent, type HostFacts } from '../../src/machine/damaged-marker.js';
import { layoutFor } from '../../src/store/layout.js';
import { throwsWithCode } from '../helpers/assert-error.js';
import { tempDir } from '../helpers/tmp.js';

const now = new Date('2026-11-23T10:00:00.000Z');
const base = { app: 'demo', now, healthTimeoutMs: 90_000, writtenAt: new Date('2026-11-23T09:59:00.000Z') };
const committed = (to: string, from: string | null = null) => ({ time: '2026-11-23T09:00:00.000Z', from, to, result: 'committed' as const });
const rolledBack = (to: string, from: string) => ({ time: '2026-11-23T09:30:00.000Z', from, to, result: 'rolled-back' as const, reason: 'unhealthy' });

function facts(current: string | null, previous: string | null, history: HostFacts['history'], installed = ['1.0.0', '1.1.0', '0.9.0']): HostFacts {
  return { current, previous, history, installed: (v) => installed.includes(v) };
}

const whole = newPendingMarker({ app: 'demo', kind: 'update', from: '1.0.0', to: '1.1.0', previousBefore: '0.9.0' }, now, 90_000);
/** The marker's fields but its phase and schema: what a damaged copy of it may still hold. */
const fieldsOf = (m: PendingMarker): Partial<PendingMarker> => { const { phase: _phase, schema: _schema, ...rest } = m; return rest; };

function withMarker(text: string, body: (file: ReturnType<typeof inspectPendingMarker>) => void): void {
  const tmp = tempDir();
  try {
    const layout = layoutFor(tmp.path);
    writeFileSync(layout.pending, text);
    body(inspectPendingMarker(layout));
  } finally {
    tmp.cleanup();
  }
}

test('a whole marker reads as it is; unknown newer fields ride along', () =>
  withMarker(JSON.stringify({ ...whole, newerField: 1 }), (file) => {
    assert.is(file.kind, 'marker');
    if (file.kind === 'marker') assert.equal(file.marker, { ...whole, newerField: 1 } as PendingMarker);
  }));

test('damaged markers: cut short, an unknown phase, a missing field, another schema, empty, a directory', () => {
  const text = JSON.stringify(whole, null, 2);
  const cases: [string, RegExp, Partial<PendingMarker>][] = [
    [text.slice(0, text.indexOf('"phase"')), /is not valid JSON/, { app: 'demo', kind: 'update', from: '1.0.0', to: '1.1.0', previousBefore: '0.9.0' }],
    [JSON.stringify({ ...whole, phase: 'exploding' }), /bad field phase/, fieldsOf(whole)],
    [JSON.stringify({ ...whole, to: undefined }), /^has no to$/, { ...(({ to: _to, ...rest }) => rest)(fieldsOf(whole)), phase: 'swapping' }],
    [JSON.stringify({ ...whole, schema: 2 }), /has schema 2, this tide reads schema 1/, { ...fieldsOf(whole), phase: 'swapping' }],
    ['', /is empty/, {}],
  ];
  for (const [content, reason, salvaged] of cases) {
    withMarker(content, (file) => {
      assert.is(file.kind, 'damaged', content);
      if (file.kind !== 'damaged') return;
      assert.match(file.reason, reason);
      const { schema: _schema, ...got } = file.salvaged as PendingMarker;
      assert.equal(got, salvaged);
    });
  }
  const tmp = tempDir();
  try {
    const layout = layoutFor(tmp.path);
    mkdirSync(layout.pending);
    const file = inspectPendingMarker(layout);
    assert.is(file.kind, 'damaged');
    throwsWithCode(() => readPendingMarker(layout), 'internal');
  } finally {
    tmp.cleanup();
  }
});

test('lastSettledCurrent: what current named when the newest transaction settled', () => {
  assert.is(lastSettledCurrent([]), null);
  assert.is(lastSettledCurrent([committed('1.0.0')]), '1.0.0');
  assert.is(lastSettledCurrent([committed('1.0.0'), rolledBack('1.1.0', '1.0.0')]), '1.0.0');
  assert.is(lastSettledCurrent([committed('1.0.0'), { ...rolledBack('1.1.0', '1.0.0'), result: 'rollback-failed' as const }]), null);
});

test('current names the new version (the flip happened): resume the update from swapping', () => {
  const plan = planAfterDamagedMarker(fieldsOf(whole), facts('1.1.0', '1.0.0', [committed('1.0.0', '0.9.0')]), base);
  assert.equal(plan.marker, { ...whole, phase: 'swapping', attempt: 1, deadline: '2026-11-23T10:01:30.000Z' });
});

test('nothing salvaged, current names a version the history never settled on: resume it, leaving what history ran last', () => {
  const plan = planAfterDamagedMarker({}, facts('1.1.0', '1.0.0', [committed('1.0.0', '0.9.0')]), base);
  assert.equal(plan.marker && { from: plan.marker.from, to: plan.marker.to, phase: plan.marker.phase, previousBefore: plan.marker.previousBefore, attempt: plan.marker.attempt, startedAt: plan.marker.startedAt },
    { from: '1.0.0', to: '1.1.0', phase: 'swapping', previousBefore: '0.9.0', attempt: 0, startedAt: '2026-11-23T09:59:00.000Z' });
  assert.match(plan.says, /resuming the update 1\.0\.0 → 1\.1\.0 from swapping/);
});

test('current still names the old version (before the flip, or after the flip back): settle on it, mark nothing bad', () => {
  for (const salvaged of [fieldsOf(whole), {}]) {
    const plan = planAfterDamagedMarker(salvaged, facts('1.0.0', '1.0.0', [committed('1.0.0', '0.9.0')]), base);
    const m = plan.marker!;
    assert.equal({ from: m.from, to: m.to, phase: m.phase, interrupted: m.interrupted, previousBefore: m.previousBefore },
      { from: '1.0.0', to: salvaged.to ?? '1.0.0', phase: 'rolling-back', interrupted: true, previousBefore: '0.9.0' });
    assert.match(m.reason!, /^the pending marker was damaged; settled on 1\.0\.0/);
  }
});

test('a marker naming a version that is not installed does not count; a first install with nothing installed settles nothing', () => {
  const missingTo = planAfterDamagedMarker({ ...fieldsOf(whole), to: '2.0.0' }, facts('1.0.0', null, [committed('1.0.0')]), base);
  assert.is(missingTo.marker!.phase, 'rolling-back');
  assert.is(missingTo.marker!.to, '1.0.0');
  const first = planAfterDamagedMarker({ to: '1.0.0', from: null }, facts(null, null, [], ['1.0.0']), base);
  assert.equal([first.marker!.phase, first.marker!.from, first.marker!.to], ['swapping', null, '1.0.0']);
  const nothing = planAfterDamagedMarker({}, facts(null, null, [], []), base);
  assert.is(nothing.marker, null);
});

test('a manual rollback interrupted before its flip settles on the version current still names', () => {
  const manual = newPendingMarker({ app: 'demo', kind: 'rollback', from: '1.1.0', to: '1.0.0', previousBefore: '1.0.0' }, now, 90_000);
  const plan = planAfterDamagedMarker(fieldsOf(manual), facts('1.1.0', '1.0.0', [committed('1.1.0', '1.0.0')]), base);
  assert.equal([plan.marker!.phase, plan.marker!.from, plan.marker!.kind], ['rolling-back', '1.1.0', 'rollback']);
});

test.run();
