// test-needs: nginx, network
// SPEC host-layout.md#kept-versions through the real CLI: after a commit, the
// versions kept beyond current and previous are the newest good ones; a version
// that failed here is not kept in place of a good one.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createHostFixture } from '../helpers/host-fixture.js';

const test = suite('prune');

test('keep = 1 keeps the newest good version, not the newer bad one', async () => {
  const host = await createHostFixture();
  try {
    for (const [version, behaviour, code] of [['1.0.0', 'good', 0], ['1.1.0', 'good', 0], ['1.2.0', 'crash', 5], ['1.3.0', 'good', 0]] as const) {
      await host.publish(version, behaviour);
      const run = await host.tide(['update']);
      assert.is(run.code, code, `${version}: ${run.stderr}`);
    }
    const status = JSON.parse((await host.tide(['status', '--json'])).stdout);
    assert.equal([status.current, status.previous, status.bad], ['1.3.0', '1.1.0', ['1.2.0']]);
    // 1.2.0 was installed after 1.0.0, but failed here: 1.0.0 is the one kept.
    assert.equal(readdirSync(join(host.stateDir, 'versions')).sort(), ['1.0.0', '1.1.0', '1.3.0']);
    assert.not.ok(existsSync(join(host.stateDir, 'artifacts', '1.2.0')), 'its artifacts went with it');
  } finally {
    await host.cleanup();
  }
});

test.run();
