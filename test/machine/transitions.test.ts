// The transition table, walked with a fake context: every phase × {ok, fail, interrupt,
// killed and resumed}, each asserting the outcome, the marker, the bad list and the
// history, and that the marker named the phase before each of its side effects.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tempDir } from '../helpers/tmp.js';
import { fakeHost, type FakeHost } from './fake-machine.js';
import { driveTransaction } from '../../src/machine/drive-transaction.js';
import { settlePending } from '../../src/machine/settle-pending.js';
import { newPendingMarker, writePendingMarker, type PendingMarker } from '../../src/machine/pending-marker.js';
import { canMove, maxAttempts, resumePhase, transitions } from '../../src/machine/transitions.js';
import { phaseOrder, type Phase } from '../../src/machine/phases.js';
import { pointVersionLink } from '../../src/store/version-links.js';
import { exitCodeOfOutcome } from '../../src/machine/outcome.js';
import { phaseActions } from '../../src/machine/phase-actions.js';
import { rejectsWithCode } from '../helpers/assert-error.js';

const test = suite('transition table');

async function withHost(opts: { probation?: string }, body: (host: FakeHost) => Promise<void>): Promise<void> {
  const tmp = tempDir('tide-table-');
  try {
    await body(fakeHost(tmp.path, opts));
  } finally {
    tmp.cleanup();
  }
}

/** The marker as the update writes it, moved to `phase` with the links as that phase finds them. */
function markerAt(host: FakeHost, phase: Phase, extra: Partial<PendingMarker> = {}): PendingMarker {
  const base = newPendingMarker({ app: 'demo', kind: 'update', from: '1.0.0', to: '1.1.0', previousBefore: null }, host.context().now(), 10_000);
  const marker = { ...base, phase, ...extra };
  if (phase !== 'swapping') {
    pointVersionLink(host.layout, host.layout.previous, '1.0.0');
    pointVersionLink(host.layout, host.layout.current, '1.1.0');
  }
  writePendingMarker(host.layout, marker);
  return marker;
}

/** Each side effect of the new version ran with the marker naming its phase; each of the rollback's with rolling-back. */
function assertMarkerBeforeEffects(host: FakeHost): void {
  const expected: [RegExp, string | null][] = [
    [/^containers 1\.1\.0$/, 'swapping'], [/^restart 1\.1\.0$/, 'restarting'],
    [/^containers 1\.0\.0$/, 'rolling-back'], [/^restart 1\.0\.0$/, 'rolling-back'], [/^containers commit/, null],
  ];
  for (const effect of host.effects) {
    for (const [what, phase] of expected) {
      if (what.test(effect.what)) assert.is(effect.markerPhase, phase, `${effect.what} ran with the marker at ${effect.markerPhase}`);
    }
    if (effect.what === 'probe 1.1.0') assert.ok(['probing', 'probation'].includes(effect.markerPhase ?? ''), `probe of the new version at ${effect.markerPhase}`);
    if (effect.what === 'probe 1.0.0') assert.is(effect.markerPhase, 'rolling-back');
  }
}

const whats = (host: FakeHost) => [...new Set(host.effects.map((e) => `${e.what}@${e.markerPhase}`))];

/** Let the abandoned run reach its hanging side effect. */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !check(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(check(), 'the run reached the point where it is killed');
}

test('the table: every phase has a row, every move it allows is legal, and forward phases cannot cycle', () => {
  assert.equal(Object.keys(transitions).sort(), [...phaseOrder].sort());
  for (const phase of phaseOrder) {
    const row = transitions[phase];
    for (const to of [row.ok, row.fail, row.interrupt, row.error]) {
      if (phaseOrder.includes(to as Phase)) assert.ok(canMove(phase, to as Phase));
    }
  }
  // Only the way forward: ok edges reach rolling-back never, and nothing returns to an earlier phase.
  const forward: Phase[] = ['swapping', 'restarting', 'probing', 'committing', 'probation'];
  forward.forEach((phase, i) => {
    const row = transitions[phase];
    for (const to of [row.ok, row.fail, row.interrupt, row.error]) {
      const j = forward.indexOf(to as Phase);
      assert.ok(j === -1 || j > i, `${phase} → ${to} goes back`);
    }
  });
  assert.is(transitions.probation.interrupt, 'keep-marker', 'SIGTERM during probation keeps the marker');
  assert.is(transitions.committing.interrupt, 'finish');
  assert.is(resumePhase('probing', maxAttempts + 1), 'rolling-back');
  assert.is(resumePhase('probation', maxAttempts + 1), 'rolling-back');
  assert.is(resumePhase('committing', maxAttempts + 1), 'committing', 'a commit is never turned into a rollback');
  assert.not.ok(canMove('rolling-back', 'swapping'));
  assert.not.ok(canMove('probation', 'probing'));
});

// ---- ok -------------------------------------------------------------------------

test('ok without probation: swapping → restarting → probing → committing, marker gone, pruned after', async () => {
  await withHost({}, async (host) => {
    const outcome = await driveTransaction(host.context(), markerAt(host, 'swapping'));
    assert.is(outcome.result, 'committed', outcome.reason);
    assert.is(host.marker(), null);
    assert.equal(whats(host), ['containers 1.1.0@swapping', 'restart 1.1.0@restarting', 'probe 1.1.0@probing', 'containers commit 1.1.0@null']);
    assert.equal(host.state().history.slice(1).map((h) => h.result), ['committed']);
    assertMarkerBeforeEffects(host);
  });
});

test('ok with probation: the marker moves to probation, probes run until its end, then the old containers go', async () => {
  await withHost({ probation: '10s' }, async (host) => {
    const outcome = await driveTransaction(host.context(), markerAt(host, 'swapping'));
    assert.is(outcome.result, 'committed', outcome.reason);
    assert.ok(outcome.inProbation);
    assert.match(outcome.reason, /probation passed/);
    assert.is(host.marker(), null);
    assert.equal(whats(host), ['containers 1.1.0@swapping', 'restart 1.1.0@restarting', 'probe 1.1.0@probing', 'probe 1.1.0@probation', 'containers commit 1.1.0@null']);
    assert.ok(host.time.t >= 10_000, `probation lasted ${host.time.t} ms`);
    assert.equal(host.state().history.slice(1).map((h) => h.result), ['committed']);
    assertMarkerBeforeEffects(host);
  });
});

// ---- fail -----------------------------------------------------------------------

test('fail in swapping (the containers do not start): rolled back, the release not blamed', async () => {
  await withHost({}, async (host) => {
    host.world.switchTo['1.1.0'] = 'fail';
    const outcome = await driveTransaction(host.context(), markerAt(host, 'swapping'));
    assert.is(outcome.result, 'rolled-back');
    assert.match(outcome.reason, /tide failed while swapping/);
    assert.equal(host.state().bad, []);
    assert.equal(whats(host), ['containers 1.1.0@swapping', 'containers 1.0.0@rolling-back', 'restart 1.0.0@rolling-back', 'probe 1.0.0@rolling-back']);
    assertMarkerBeforeEffects(host);
  });
});

for (const phase of ['restarting', 'probing'] as const) {
  test(`fail in ${phase}: rolled back (exit 5), the version marked bad`, async () => {
    await withHost({}, async (host) => {
      if (phase === 'restarting') host.world.restart['1.1.0'] = 'fail';
      else host.world.probe['1.1.0:probing'] = 'fail';
      const outcome = await driveTransaction(host.context(), markerAt(host, 'swapping'));
      assert.is(outcome.result, 'rolled-back', outcome.reason);
      assert.is(exitCodeOfOutcome(outcome), 5);
      assert.equal(host.state().bad, ['1.1.0']);
      assert.is(host.marker(), null);
      assert.ok(whats(host).includes('restart 1.0.0@rolling-back'));
      assert.not.ok(whats(host).some((w) => w.startsWith('containers commit')));
      assertMarkerBeforeEffects(host);
    });
  });
}

test('fail in committing (tide errs): the marker is kept at committing, and verify finishes the commit once', async () => {
  await withHost({}, async (host) => {
    host.world.throwOnEvent = 'commit';
    await rejectsWithCode(driveTransaction(host.context(), markerAt(host, 'probing')), 'internal');
    assert.is(host.marker()?.phase, 'committing');
    host.world.throwOnEvent = undefined;
    const settled = await settlePending(host.context());
    assert.is(settled?.result, 'committed');
    assert.is(host.marker(), null);
    assert.equal(host.state().history.slice(1).map((h) => h.result), ['committed'], 'recorded once');
  });
});

test('fail in probation: a late rollback to previous, marked bad, recorded as in probation; the old containers back', async () => {
  await withHost({ probation: '20s' }, async (host) => {
    host.world.probe['1.1.0:probation'] = (t) => (t > 5_000 ? 'fail' : 'ok');
    const outcome = await driveTransaction(host.context(), markerAt(host, 'swapping'));
    assert.is(outcome.result, 'rolled-back', outcome.reason);
    assert.is(exitCodeOfOutcome(outcome), 5);
    assert.ok(outcome.inProbation);
    assert.match(outcome.reason, /after the commit, in probation: http http:\/\/127\.0\.0\.1:9\/ answered 500, expected 200 for 2(\.0)?s in a row during probation/);
    assert.equal(host.state().bad, ['1.1.0']);
    const history = host.state().history.slice(1);
    assert.equal(history.map((h) => [h.result, h.inProbation ?? false]), [['committed', false], ['rolled-back', true]]);
    assert.equal(host.state().lastResult, 'rolled-back');
    assert.is(host.marker(), null);
    assert.ok(whats(host).includes('containers 1.0.0@rolling-back'));
    assert.not.ok(whats(host).some((w) => w.startsWith('containers commit')), 'the old containers were never removed');
    assert.ok(host.time.t < 20_000, 'rolled back before probation would have ended');
    assertMarkerBeforeEffects(host);
  });
});

test('fail in rolling-back (the old version does not restart): rollback-failed, exit 6', async () => {
  await withHost({}, async (host) => {
    host.world.probe['1.1.0:probing'] = 'fail';
    host.world.restart['1.0.0'] = 'fail';
    const outcome = await driveTransaction(host.context(), markerAt(host, 'swapping'));
    assert.is(outcome.result, 'rollback-failed');
    assert.is(exitCodeOfOutcome(outcome), 6);
    assert.ok(whats(host).includes('probe 1.0.0@rolling-back'), 'the rollback ran to the end');
  });
});

test('error in rolling-back (tide errs): rollback-failed with the marker kept for verify, which redoes it', async () => {
  await withHost({}, async (host) => {
    host.world.throwOnEvent = 'rollback';
    const outcome = await driveTransaction(host.context(), markerAt(host, 'rolling-back', { reason: 'unhealthy' }));
    assert.is(outcome.result, 'rollback-failed');
    assert.match(outcome.reason, /the marker is kept/);
    assert.is(host.marker()?.phase, 'rolling-back');
    host.world.throwOnEvent = undefined;
    const settled = await settlePending(host.context());
    assert.is(settled?.result, 'rolled-back');
    assert.is(host.marker(), null);
  });
});

// ---- interrupt ------------------------------------------------------------------

const interruptCases: { phase: Phase; result: string; markerAfter: string | null }[] = [
  { phase: 'swapping', result: 'rolled-back', markerAfter: null },
  { phase: 'restarting', result: 'rolled-back', markerAfter: null },
  { phase: 'probing', result: 'rolled-back', markerAfter: null },
  { phase: 'committing', result: 'committed', markerAfter: null },
  { phase: 'probation', result: 'on-probation', markerAfter: 'probation' },
  { phase: 'rolling-back', result: 'rolled-back', markerAfter: null },
];

for (const c of interruptCases) {
  test(`interrupt (SIGTERM) at ${c.phase}: ${c.result}`, async () => {
    await withHost({}, async (host) => {
      const ctx = host.context();
      ctx.interrupt.abort();
      const extra = c.phase === 'probation' ? { probationUntil: new Date(ctx.now().getTime() + 10_000).toISOString() } : {};
      const outcome = await driveTransaction(ctx, markerAt(host, c.phase, extra));
      assert.is(outcome.result, c.result, outcome.reason);
      assert.is((host.marker()?.phase as string | undefined) ?? null, c.markerAfter);
      assert.is(exitCodeOfOutcome(outcome), c.result === 'rolled-back' ? 5 : 0);
      if (['swapping', 'restarting', 'probing'].includes(c.phase)) {
        assert.match(outcome.reason, /SIGTERM/);
        assert.equal(host.state().bad, [], 'SIGTERM never blames the release');
      }
      assertMarkerBeforeEffects(host);
    });
  });
}

test('interrupt while probing (mid-probe): rolled back, not bad', async () => {
  await withHost({}, async (host) => {
    host.world.abortAt = 'probe 1.1.0';
    const outcome = await driveTransaction(host.context(), markerAt(host, 'swapping'));
    assert.is(outcome.result, 'rolled-back');
    assert.equal(host.state().bad, []);
  });
});

test('interrupt during probation (mid-watch): the marker is kept, and verify finishes probation', async () => {
  await withHost({ probation: '10s' }, async (host) => {
    host.world.abortAt = 'probe 1.1.0@probation';
    const outcome = await driveTransaction(host.context(), markerAt(host, 'probing'));
    host.world.abortAt = undefined;
    assert.is(outcome.result, 'on-probation', outcome.reason);
    assert.match(outcome.reason, /tide verify resumes probation/);
    assert.is(host.marker()?.phase, 'probation');
    const settled = await settlePending(host.context());
    assert.is(settled?.result, 'committed', settled?.reason);
    assert.is(host.marker(), null);
  });
});

// ---- killed and resumed ---------------------------------------------------------

const killCases: { phase: Phase; hang: (host: FakeHost) => void; at: string }[] = [
  { phase: 'swapping', hang: (h) => { h.world.switchTo['1.1.0'] = 'hang'; }, at: 'containers 1.1.0' },
  { phase: 'restarting', hang: (h) => { h.world.restart['1.1.0'] = 'hang'; }, at: 'restart 1.1.0' },
  { phase: 'probing', hang: (h) => { h.world.probe['1.1.0:probing'] = 'hang'; }, at: 'probe 1.1.0' },
  { phase: 'probation', hang: (h) => { h.world.probe['1.1.0:probation'] = (t) => (t > 4_000 ? 'hang' : 'ok'); }, at: 'probe 1.1.0' },
];

for (const c of killCases) {
  test(`killed in ${c.phase} and resumed: verify resumes ${c.phase} and commits`, async () => {
    await withHost({ probation: '10s' }, async (host) => {
      c.hang(host);
      void driveTransaction(host.context(), markerAt(host, 'swapping'));
      await until(() => host.marker()?.phase === c.phase && host.effects.some((e) => e.what === c.at && e.markerPhase === c.phase));
      const killedAt = host.time.t;
      host.kill();
      host.world = Object.assign(host.world, { restart: {}, probe: {}, switchTo: {} });
      const settled = await settlePending(host.context());
      assert.is(settled?.result, 'committed', settled?.reason);
      assert.is(host.marker(), null);
      assert.ok(host.logs.some((l) => new RegExp(`from phase ${c.phase} \\(attempt 2\\)`).test(l.event.message ?? '')), 'resumed where it was killed');
      if (c.phase === 'probation') {
        // The rest of probation only: it ends 10 s after the commit, not 10 s after the resume.
        const watch = host.logs.filter((l) => /^watching 1\.1\.0 for/.test(l.event.message ?? '')).at(-1)!;
        assert.match(watch.event.message!, /for [0-9.]+s more/);
        assert.ok(host.time.t - killedAt < 10_000 || host.time.t < 10_000 + killedAt, 'not a full second probation');
      }
      assertMarkerBeforeEffects(host);
    });
  });
}

test('killed right after the marker names committing: verify commits once', async () => {
  await withHost({}, async (host) => {
    markerAt(host, 'committing', { reason: 'healthy' });
    const settled = await settlePending(host.context());
    assert.is(settled?.result, 'committed');
    assert.equal(host.state().history.slice(1).map((h) => h.result), ['committed']);
  });
});

test('killed in rolling-back and resumed: verify finishes the rollback, the version bad', async () => {
  await withHost({}, async (host) => {
    host.world.probe['1.1.0:probing'] = 'fail';
    host.world.restart['1.0.0'] = 'hang';
    void driveTransaction(host.context(), markerAt(host, 'swapping'));
    await until(() => host.effects.some((e) => e.what === 'restart 1.0.0'));
    host.kill();
    host.world.restart = {};
    const settled = await settlePending(host.context());
    assert.is(settled?.result, 'rolled-back', settled?.reason);
    assert.equal(host.state().bad, ['1.1.0']);
    assert.is(host.marker(), null);
  });
});

for (const phase of ['probing', 'probation'] as const) {
  test(`the attempt cap: a marker at ${phase} resumed a ${maxAttempts + 1}th time rolls back`, async () => {
    await withHost({ probation: '10s' }, async (host) => {
      const ctx = host.context();
      markerAt(host, phase, { attempt: maxAttempts, ...(phase === 'probation' && { probationUntil: new Date(ctx.now().getTime() + 10_000).toISOString() }) });
      const settled = await settlePending(ctx);
      assert.is(settled?.result, 'rolled-back');
      assert.match(settled!.reason, new RegExp(`did not settle in ${maxAttempts} attempts`));
      assert.is(settled?.inProbation ?? false, phase === 'probation');
    });
  });
}

test('the loop detector: a table that sends probing back to probing is stopped and rolled back', async () => {
  await withHost({}, async (host) => {
    host.world.probe['1.1.0:probing'] = 'fail';
    const looping = { ...transitions, probing: { ...transitions.probing, fail: 'probing' as const } };
    const outcome = await driveTransaction(host.context(), markerAt(host, 'probing'), { table: looping, actions: phaseActions });
    assert.is(outcome.result, 'rolled-back');
    assert.match(outcome.reason, /the transaction looped: entered probing 3 times/);
    assert.equal(host.state().bad, [], 'a loop is tide\'s fault, not the release\'s');
  });
});

test('tide rollback during probation rolls back now instead of resuming probation, without marking the version bad', async () => {
  await withHost({ probation: '10s' }, async (host) => {
    const ctx = host.context();
    markerAt(host, 'probation', { probationUntil: new Date(ctx.now().getTime() + 10_000).toISOString() });
    const { runManualRollback } = await import('../../src/machine/manual-rollback.js');
    const outcome = await runManualRollback(ctx);
    assert.is(outcome.result, 'rolled-back', outcome.reason);
    assert.match(outcome.reason, /manual rollback \(tide rollback\) during probation/);
    assert.ok(outcome.inProbation);
    assert.equal(host.state().bad, []);
    assert.not.ok(host.effects.some((e) => e.markerPhase === 'probation'), 'probation was not resumed');
    assert.is(host.marker(), null);
  });
});

test('an old marker (no probationUntil, from before probation) is read and settled as before', async () => {
  await withHost({ probation: '5s' }, async (host) => {
    const old = markerAt(host, 'probing');
    delete (old as Partial<PendingMarker>).probationUntil;
    writePendingMarker(host.layout, old);
    const settled = await settlePending(host.context());
    assert.is(settled?.result, 'committed');
  });
});

test.run();
