// test-needs: network
// --log-format json: one JSON object per line on stderr, every line naming the app,
// transaction lines naming from and to, and a closing line with the result.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHostFixture } from '../helpers/host-fixture.js';

const test = suite('json log');

const parse = (stderr: string) => stderr.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);

test('an update logs one JSON line per event, with app, from, to, phase, result, reason and duration', async () => {
  const host = await createHostFixture();
  try {
    await host.publish('1.0.0');
    assert.is((await host.tide(['update'])).code, 0);
    await host.publish('1.1.0', '500');
    const run = await host.tide(['--log-format', 'json', 'update']);
    assert.is(run.code, 5, run.stderr);
    const lines = parse(run.stderr);
    assert.ok(lines.length >= 6, run.stderr);
    for (const line of lines) {
      assert.is(line.app, 'demo', JSON.stringify(line));
      assert.type(line.time, 'string');
      assert.type(line.event, 'string');
      assert.type(line.message, 'string');
    }
    // From the decision on, every line belongs to the 1.0.0 → 1.1.0 transaction.
    const fromCheck = lines.slice(lines.findIndex((l) => l.event === 'check'));
    for (const line of fromCheck) assert.equal([line.from, line.to], ['1.0.0', '1.1.0'], JSON.stringify(line));
    const phases = fromCheck.map((l) => l.phase).filter(Boolean);
    for (const phase of ['swapping', 'restarting', 'rolling-back']) assert.ok(phases.includes(phase), `phase ${phase} in ${phases.join(',')}`);
    const closing = lines.at(-1)!;
    assert.equal([closing.event, closing.command, closing.result, closing.exitCode], ['result', 'update', 'rolled-back', 5]);
    assert.type(closing.reason, 'string');
    assert.type(closing.durationMs, 'number');
    // The fields a shipper groups by come first.
    assert.equal(Object.keys(closing).slice(0, 5), ['time', 'level', 'event', 'app', 'from']);
    // SPEC commands.md#output-streams: the result on stdout is JSON too, not text mode's summary line.
    assert.equal(Object.entries(JSON.parse(run.stdout)).slice(0, 3), [['result', 'rolled-back'], ['from', '1.0.0'], ['to', '1.1.0']]);
  } finally {
    await host.cleanup();
  }
});

test('a refusal closes with its error code; text mode has no closing line', async () => {
  const host = await createHostFixture();
  try {
    await host.publish('1.0.0', 'good', { expires: new Date(Date.now() - 60_000).toISOString() });
    const run = await host.tide(['--log-format', 'json', 'check']);
    assert.is(run.code, 3);
    const lines = parse(run.stderr);
    const closing = lines.find((l) => l.event === 'result');
    assert.equal([closing?.app, closing?.result, closing?.exitCode], ['demo', 'expired', 3]);
    assert.ok(lines.every((l) => typeof l.event === 'string'));
    const text = await host.tide(['check']);
    assert.is(text.code, 3);
    assert.not.match(text.stderr, /"event"/);
    assert.not.match(text.stderr, /check: expired/);
  } finally {
    await host.cleanup();
  }
});

test.run();
