// test-needs: nginx, network
// `tide history` as an operator reads it (aligned columns), `--json` unchanged, and
// what `lastResult` says after a manual rollback.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHostFixture } from '../helpers/host-fixture.js';

const test = suite('history');

test('history prints aligned columns; --json is the list; a manual rollback is named as such', async () => {
  const host = await createHostFixture();
  try {
    await host.publish('1.0.0');
    assert.is((await host.tide(['update'])).code, 0);
    await host.publish('1.1.0', 'crash');
    assert.is((await host.tide(['update'])).code, 5);
    await host.publish('1.2.0');
    assert.is((await host.tide(['update'])).code, 0);
    const rollback = await host.tide(['rollback']);
    assert.is(rollback.code, 0, rollback.stderr);
    assert.match(rollback.stdout, /^rolled back 1\.2\.0 → 1\.0\.0: /);

    const status = JSON.parse((await host.tide(['status', '--json'])).stdout);
    assert.is(status.lastResult, 'manual-rollback');
    assert.match((await host.tide(['status'])).stdout, /^last result: manual-rollback$/m);

    const text = await host.tide(['history']);
    assert.is(text.code, 0, text.stderr);
    assert.not.match(text.stdout, /\t/);
    const lines = text.stdout.trimEnd().split('\n');
    assert.is(lines.length, 5);
    assert.match(lines[0]!, /^TIME {22}FROM {3}TO {5}RESULT {11}REASON$/);
    // Every column starts where its heading does.
    const starts = ['FROM', 'TO', 'RESULT'].map((heading) => lines[0]!.indexOf(heading));
    const rows = lines.slice(1).map((line) => line.split(/ {2,}/));
    assert.equal(rows.map((r) => r.slice(1, 4)), [['-', '1.0.0', 'committed'], ['1.0.0', '1.1.0', 'rolled-back'], ['1.0.0', '1.2.0', 'committed'], ['1.2.0', '1.0.0', 'manual-rollback']]);
    for (const [i, line] of lines.slice(1).entries()) {
      for (const [column, start] of starts.entries()) assert.is(line.indexOf(rows[i]![column + 1]!, start), start, line);
      assert.is(line, line.trimEnd());
    }
    assert.match(lines[2]!, /rolled-back +\S/, 'the reason is shown');

    const json = await host.tide(['history', '--json']);
    const history = JSON.parse(json.stdout) as { result: string; from: string | null; to: string; time: string }[];
    assert.equal(history.map((h) => h.result), ['committed', 'rolled-back', 'committed', 'manual-rollback']);
    assert.is(json.stdout.trim().split('\n').length, 1, 'one JSON document');
  } finally {
    await host.cleanup();
  }
});

test.run();
