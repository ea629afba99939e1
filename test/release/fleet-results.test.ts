// The fleet's results per version, as the rollout controller and the page count them, and
// the --halt-on grammar.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { metricValues, tallyResults, type ReadReport } from '../../src/release/fleet-results.js';
import { haltReasons, parseHaltExpression } from '../../src/release/halt-expression.js';
import { throwsWithCode } from '../helpers/assert-error.js';

const test = suite('fleet results');
let minute = 0;
const report = (machine: string, result: string, from: string | null, to: string | null, current: string | null): ReadReport => ({
  schema: 1, app: 'demo', channel: 'stable', machine, command: 'update', result, from, to, reason: `${machine} ${result}`,
  time: new Date(Date.UTC(2026, 11, 1, 0, minute++)).toISOString(), current,
});

test('commits, rollbacks, late rollbacks (after a commit on the same host), failures, hosts, newest reasons first', () => {
  const versions = tallyResults([
    report('a', 'committed', '1.0.0', '1.1.0', '1.1.0'),
    report('b', 'rolled-back', '1.0.0', '1.1.0', '1.0.0'),
    report('a', 'rolled-back', '1.1.0', '1.1.0', '1.0.0'), // probation on a: after its commit
    report('c', 'rollback-failed', '1.0.0', '1.1.0', '1.1.0'),
    report('d', 'committed', '1.0.0', '1.1.0', '1.1.0'),
    { ...report('d', 'rolled-back', '1.1.0', '1.0.0', '1.0.0'), command: 'rollback' }, // an operator's tide rollback off 1.1.0
  ]);
  const v = versions.get('1.1.0')!;
  assert.equal([v.commits, v.rollbacks, v.lateRollbacks, v.failures, v.hosts, v.reports], [2, 4, 2, 1, 4, 6]);
  assert.equal(v.lastReasons.map((r) => r.reason), ['d rolled-back', 'c rollback-failed', 'a rolled-back', 'b rolled-back']);
  // The version hosts went back to is not charged with a rollback.
  assert.is(versions.get('1.0.0')!.rollbacks, 0);
  assert.equal(metricValues(v).success, 2 / 6);
  assert.is(metricValues(undefined).success, 1, 'nothing tried: no evidence of harm');
});

test('the halt grammar: metrics, numbers, comparisons, | & and parentheses; nothing else', () => {
  const values = { rollbacks: 1, late_rollbacks: 0, commits: 9, failures: 0, reports: 10, hosts: 10, success: 0.9 };
  assert.equal(haltReasons(parseHaltExpression('rollbacks>0 | success<0.99'), values), ['rollbacks>0 (rollbacks = 1)', 'success<0.99 (success = 0.9)']);
  assert.equal(haltReasons(parseHaltExpression('rollbacks>1 || late_rollbacks>0'), values), []);
  assert.equal(haltReasons(parseHaltExpression('(rollbacks>=1 & hosts>5) && 0.95>success'), values).length, 3);
  assert.equal(haltReasons(parseHaltExpression('failures != 0 | commits == -1'), values), []);
  for (const bad of ['', 'rollbacks', 'rollbacks>"1"', 'rollbacks>0 + 1', 'Math.max(1)>0', 'rollbacks>0 ^ success<1', 'x>1', 'rollbacks>0 |', `${'rollbacks>0|'.repeat(50)}rollbacks>0`]) {
    throwsWithCode(() => parseHaltExpression(bad), 'usage');
  }
});

test.run();
