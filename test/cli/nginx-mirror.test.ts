// test-needs: nginx
// The happy path with nginx as the mirror: `tide check` and `tide update` end to
// end against a real static file server (ETag, Range, 304) on 127.0.0.1.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createHostFixture } from '../helpers/host-fixture.js';

const test = suite('nginx as the mirror');

test('first install, a check, an update, and an unchanged channel against nginx', async () => {
  const host = await createHostFixture({ serve: 'nginx' });
  try {
    assert.match(host.mirrorUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    await host.publish('1.0.0');
    const first = await host.tide(['update']);
    assert.is(first.code, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /updated \(nothing\) → 1\.0\.0/);
    assert.is(await host.serving(), 'demo 1.0.0');
    await host.publish('1.1.0');
    const check = await host.tide(['check']);
    assert.is(check.code, 100, check.stderr);
    const update = await host.tide(['update', '--json']);
    assert.is(update.code, 0, update.stderr);
    const outcome = JSON.parse(update.stdout);
    assert.is(outcome.result, 'committed');
    assert.is(outcome.from, '1.0.0');
    assert.is(outcome.to, '1.1.0');
    assert.is(await host.serving(), 'demo 1.1.0');
    assert.is(readlinkSync(join(host.stateDir, 'current')), 'versions/1.1.0');
    assert.is(readlinkSync(join(host.stateDir, 'previous')), 'versions/1.0.0');
    assert.is(readlinkSync(host.linkPath), join(host.stateDir, 'current', 'bin/demo'));
    assert.not.ok(existsSync(join(host.stateDir, 'pending.json')));
    assert.ok(!existsSync(join(host.stateDir, 'staging')) || readdirSync(join(host.stateDir, 'staging')).length === 0);
    // Nothing new on the channel: a second check and update have nothing to do.
    const again = await host.tide(['check']);
    assert.is(again.code, 0, again.stderr);
    const noop = await host.tide(['update']);
    assert.is(noop.code, 0, noop.stderr);
    assert.match(noop.stdout, /up to date: 1\.1\.0/);
    assert.equal(host.stateJson().history.map((h) => [h.from, h.to, h.result]), [[null, '1.0.0', 'committed'], ['1.0.0', '1.1.0', 'committed']]);
  } finally {
    await host.cleanup();
  }
});

test.run();
