// `tide release rollout` as cron runs it: real processes, a real release tree, real keys,
// a directory of fleet reports (the webhook's JSON documents). The test's clock is --now,
// pinned from the time the test starts, so no test waits an hour and none depends on the date.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withLab } from './rollout-lab.js';

const test = suite('rollout controller');
const minute = 60_000;

test('goes 1 → 10 → 50 % by itself on healthy reports, and halts to the fallback on a rollback report', () => withLab(async (lab) => {
  assert.equal([(await lab.pointer()).rollout, (await lab.pointer()).fallback?.version], [{ percent: 1 }, '1.0.0']);
  lab.report('h1', 10 * minute, {});
  // Healthy but young: waits, writes no pointer.
  const young = lab.rollout(30 * minute);
  assert.is(young.code, 0, young.stdout + young.stderr);
  assert.match(young.stdout, /stable: wait: 1\.1\.0 at 1% is healthy \(1 commit\(s\), 0 rollback\(s\), success 1\); the step is (29|30)m old, next step 10%/);
  const seq = (await lab.pointer()).sequence;

  const first = lab.rollout(61 * minute);
  assert.is(first.code, 0, first.stdout + first.stderr);
  assert.match(first.stdout, /stable: advance: .*next step 10%/);
  let pointer = await lab.pointer();
  assert.equal([pointer.version, pointer.rollout?.percent, pointer.fallback?.version, pointer.sequence], ['1.1.0', 10, '1.0.0', seq + 1]);
  // Idempotent: the same run again finds the new step too young.
  const bytes = lab.pointerBytes();
  const again = lab.rollout(61 * minute);
  assert.is(again.code, 0);
  assert.match(again.stdout, /wait: .*at 10% is healthy.*the step is 0m old/);
  assert.ok(lab.pointerBytes().equals(bytes), 'a second run changed the pointer');

  lab.report('h2', 80 * minute, {});
  lab.report('h3', 90 * minute, {});
  const second = lab.rollout(122 * minute, '--json');
  assert.is(second.code, 0, second.stdout + second.stderr);
  const run = JSON.parse(second.stdout);
  assert.equal([run.action, run.percent, run.results.commits, run.results.hosts], ['advance', 50, 3, 3]);
  pointer = await lab.pointer();
  assert.equal([pointer.rollout?.percent, pointer.fallback?.version, pointer.sequence], [50, '1.0.0', seq + 2]);

  // A host rolls 1.1.0 back: the next run halts at once (the step's age does not matter).
  lab.report('h4', 130 * minute, { result: 'rolled-back', exitCode: 5, current: '1.0.0', bad: ['1.1.0'], reason: 'http probe answered 500' });
  const halt = lab.rollout(131 * minute);
  assert.is(halt.code, 5, halt.stdout + halt.stderr);
  assert.match(halt.stdout, /stable: halt: 1\.1\.0 at 50% is unhealthy: rollbacks>0 \(rollbacks = 1\), success<0\.99 \(success = 0\.75\); pointing the channel at the fallback 1\.0\.0/);
  assert.match(halt.stderr, /halt/, 'the halt is logged too');
  assert.match(halt.stdout, /hosts already on 1\.1\.0 keep it; to move them back: tide release revoke --app demo --version 1\.1\.0/);
  pointer = await lab.pointer();
  assert.equal([pointer.version, pointer.rollout, pointer.fallback, pointer.sequence], ['1.0.0', undefined, undefined, seq + 3]);
  const state = JSON.parse(readFileSync(join(lab.tree, 'rollouts', 'stable.json'), 'utf8'));
  assert.equal(state.history.map((e: { action: string; percent: number }) => `${e.action} ${e.percent}`), ['started 1', 'advanced 10', 'advanced 50', 'halted 100']);
  assert.is(state.halted.version, '1.1.0');
  // Halted stays halted: exit 5 again, nothing rewritten, until someone promotes again.
  const haltedBytes = lab.pointerBytes();
  const later = lab.rollout(300 * minute);
  assert.is(later.code, 5);
  assert.match(later.stdout, /halted: the rollout of 1\.1\.0 halted at 50%/);
  assert.ok(lab.pointerBytes().equals(haltedBytes));
  // The state file is not published: publish copies releases/, keys/, revocations and channels/ only.
  mkdirSync(join(lab.dir, 'mirror'));
  assert.is(lab.tide('release', 'publish', '--tree', lab.tree, join(lab.dir, 'mirror')).code, 0);
  assert.not.ok(existsSync(join(lab.dir, 'mirror', 'rollouts')));
}));

test('waits for --min-results, reaches 100 % without a rollout or fallback, then has nothing to do', () => withLab(async (lab) => {
  const none = lab.rollout(2 * 60 * minute, '--min-results', '2');
  assert.is(none.code, 0);
  assert.match(none.stdout, /wait: 1\.1\.0 at 1%: 0 of 2 result\(s\) reported so far/);
  lab.report('h1', 10 * minute, {});
  lab.report('h2', 11 * minute, {});
  // Reports for another app or channel, and files that are not reports, do not count.
  lab.report('x1', 12 * minute, { app: 'other', result: 'rolled-back', current: '1.0.0' });
  lab.report('x2', 12 * minute, { channel: 'beta', result: 'rolled-back', current: '1.0.0' });
  writeFileSync(join(lab.reports, 'garbage.json'), '{"schema": 1, "app": "demo"');
  for (const [offset, percent] of [[61, 10], [122, 50], [183, 100]] as const) {
    const step = lab.rollout(offset * minute, '--min-results', '2');
    assert.is(step.code, 0, step.stdout + step.stderr);
    assert.match(step.stdout, new RegExp(`advance: .*next step ${percent}%`));
  }
  const full = await lab.pointer();
  assert.equal([full.version, full.rollout, full.fallback], ['1.1.0', undefined, undefined]);
  const done = lab.rollout(400 * minute);
  assert.is(done.code, 0);
  assert.match(done.stdout, /none: 1\.1\.0 is out to every host/);
}));

test('refuses a halt expression outside the grammar, bad steps, a missing source, and halting to a revoked fallback', () => withLab(async (lab) => {
  const before = lab.pointerBytes();
  const usage = (run: { code: number | null; stderr: string }, message: RegExp) => {
    assert.is(run.code, 2, run.stderr);
    assert.match(run.stderr, message);
    assert.ok(lab.pointerBytes().equals(before));
  };
  usage(lab.rollout(61 * minute, '--halt-on', 'restarts>0'), /tide: usage: --halt-on "restarts>0": unknown metric "restarts"/);
  usage(lab.rollout(61 * minute, '--halt-on', 'process.exit(1)'), /tide: usage: --halt-on .*expected a comparison/);
  usage(lab.rollout(61 * minute, '--halt-on', 'rollbacks>commits'), /one metric against one number/);
  usage(lab.rollout(61 * minute, '--halt-on', 'rollbacks >'), /tide: usage: --halt-on/);
  usage(lab.rollout(61 * minute, '--steps', '10,1,100'), /--steps must be ascending percentages/);
  usage(lab.rollout(61 * minute, '--steps', '0,50'), /--steps must be ascending percentages above 0/);
  usage(lab.tide('release', 'rollout', '--tree', lab.tree, '--app', 'demo', '--channel', 'stable', '--key', lab.key.privatePath), /--reports DIR or --prometheus URL/);
  usage(lab.rollout(61 * minute, '--channel', 'beta'), /channel beta has no pointer in the tree/);

  // "0<success & rollbacks>=1": both sides must hold; with one rollback and some success it halts.
  lab.report('h1', 5 * minute, { result: 'rolled-back', current: '1.0.0' });
  const revoke = lab.tide('release', 'revoke', '--tree', lab.tree, '--app', 'demo', '--version', '1.0.0', '--key', lab.key.privatePath);
  assert.is(revoke.code, 0, revoke.stderr);
  const refused = lab.rollout(6 * minute);
  assert.is(refused.code, 3, refused.stdout + refused.stderr);
  assert.match(refused.stderr, /tide: revoked: cannot halt to the fallback 1\.0\.0: it is revoked/);
  assert.ok(lab.pointerBytes().equals(before));
}));

test('the halt expression: and, or, parentheses, numbers on either side', () => withLab(async (lab) => {
  lab.report('h1', 5 * minute, {});
  lab.report('h2', 6 * minute, { result: 'rolled-back', current: '1.0.0' });
  // success = 0.5, rollbacks = 1: "(rollbacks>1 | 0.4>success) & commits>=1" does not hold.
  const holds = lab.rollout(10 * minute, '--halt-on', '(rollbacks>1 | 0.4>success) & commits>=1');
  assert.is(holds.code, 0, holds.stdout + holds.stderr);
  assert.match(holds.stdout, /wait:/);
  const halts = lab.rollout(11 * minute, '--halt-on', '(rollbacks>1 | 0.6>success) && commits>=1');
  assert.is(halts.code, 5, halts.stdout + halts.stderr);
  assert.match(halts.stdout, /unhealthy: success<0\.6 \(success = 0\.5\), commits>=1 \(commits = 1\)/);
}));

test.run();
