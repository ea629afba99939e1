// test-needs: network
// SPEC commands.md#tide-check: exit codes through the real binary: 0 up to date,
// 100 an update is available, 3 refused, 4 no mirror answered. A check never installs.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createHostFixture } from '../helpers/host-fixture.js';
import { freePort } from '../../scripts/lib/free-port.js';
import { assertRefused, assertUntouched, installFirst, quickHealth, snapshotHost } from './refusal-checks.js';

const test = suite('tide check');

test('exits 100 when an update is available, and installs nothing', async () => {
  const host = await createHostFixture({ serve: 'http', health: quickHealth });
  try {
    await host.publish('1.0.0');
    const run = await host.tide(['check']);
    assert.is(run.code, 100, run.stderr);
    assert.match(run.stdout, /update available: \(nothing\) → 1\.0\.0 on stable/);
    assert.not.ok(existsSync(join(host.stateDir, 'current')), 'check installs nothing');
    const json = await host.tide(['check', '--json']);
    assert.is(json.code, 100);
    const answer = JSON.parse(json.stdout);
    assert.is(answer.available, true);
    assert.is(answer.version, '1.0.0');
    assert.is(answer.current, null);
    assert.is(answer.sequence, 1);
  } finally {
    await host.cleanup();
  }
});

test('exits 0 when up to date', async () => {
  const host = await createHostFixture({ serve: 'http', health: quickHealth });
  try {
    await installFirst(host);
    const run = await host.tide(['check']);
    assert.is(run.code, 0, run.stderr);
    assert.match(run.stdout, /no update: 1\.0\.0 is already current/);
    const json = JSON.parse((await host.tide(['check', '--json'])).stdout);
    assert.is(json.available, false);
    assert.is(json.current, '1.0.0');
  } finally {
    await host.cleanup();
  }
});

test('exits 3 when the channel is refused (expired pointer), touching nothing', async () => {
  const host = await createHostFixture({ serve: 'http', health: quickHealth });
  try {
    await installFirst(host);
    await host.publish('1.1.0', 'good', { expires: new Date(Date.now() - 1000).toISOString() });
    const before = await snapshotHost(host);
    const run = await host.tide(['check']);
    assertRefused(run, { exit: 3, code: 'expired', message: /channel pointer expired at/, mirror: host.mirrorUrl, file: 'channels/stable.json' });
    await assertUntouched(host, before);
  } finally {
    await host.cleanup();
  }
});

test('exits 4 when no mirror answers', async () => {
  const dead = `http://127.0.0.1:${await freePort()}`;
  const host = await createHostFixture({ health: quickHealth, mirrors: () => [dead] });
  try {
    const run = await host.tide(['check']);
    assertRefused(run, { exit: 4, code: 'unreachable', message: /ECONNREFUSED/, mirror: dead, file: 'channels/stable.json' });
  } finally {
    await host.cleanup();
  }
});

test('--channel checks another channel', async () => {
  const host = await createHostFixture({ serve: 'http', health: quickHealth });
  try {
    await installFirst(host);
    await host.publish('1.1.0-alpha.1', 'good', { channel: 'alpha' });
    const stable = await host.tide(['check']);
    assert.is(stable.code, 0, stable.stderr);
    const alpha = await host.tide(['check', '--channel', 'alpha']);
    assert.is(alpha.code, 100, alpha.stderr);
    assert.match(alpha.stdout, /1\.0\.0 → 1\.1\.0-alpha\.1 on alpha/);
    const missing = await host.tide(['check', '--channel', 'beta']);
    assertRefused(missing, { exit: 4, code: 'not-found', message: /404/, mirror: host.mirrorUrl, file: 'channels/beta.json' });
  } finally {
    await host.cleanup();
  }
});

test.run();
