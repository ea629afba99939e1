// test-needs: network
// SPEC formats.md#rollout: a host outside the bucket does nothing (exit 0);
// `--force` ignores the bucket (and the bad list), never a signature.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createHostFixture } from '../helpers/host-fixture.js';
import { makeKey } from '../helpers/keys.js';
import { rolloutBucket } from '../../src/plan/rollout.js';
import { assertRefused, assertUntouched, installFirst, quickHealth, snapshotHost } from './refusal-checks.js';

const test = suite('rollout');
// The fixture's config sets machine_id = "test-machine".
const bucket = (version: string) => rolloutBucket('test-machine', 'demo', version);

test('a host outside the rollout does nothing (exit 0); --force installs', async () => {
  const host = await createHostFixture({ serve: 'http', health: quickHealth });
  try {
    await installFirst(host);
    // percent = bucket: this host is the first one left out (bucket < percent is false).
    await host.publish('1.1.0', 'good', { rolloutPercent: bucket('1.1.0') });
    const before = await snapshotHost(host);
    const check = await host.tide(['check']);
    assert.is(check.code, 0, check.stderr);
    assert.match(check.stdout, /not in the rollout of 1\.1\.0/);
    const run = await host.tide(['update']);
    assert.is(run.code, 0, run.stderr);
    assert.match(run.stdout, /not updating: this host is not in the rollout of 1\.1\.0 yet/);
    await assertUntouched(host, before, { pointerAccepted: true });
    const forced = await host.tide(['update', '--force']);
    assert.is(forced.code, 0, forced.stdout + forced.stderr);
    assert.is(await host.serving(), 'demo 1.1.0');
    assert.is(readlinkSync(join(host.stateDir, 'current')), 'versions/1.1.0');
  } finally {
    await host.cleanup();
  }
});

test('a host inside the rollout updates', async () => {
  const host = await createHostFixture({ serve: 'http', health: quickHealth });
  try {
    await installFirst(host);
    await host.publish('1.1.0', 'good', { rolloutPercent: bucket('1.1.0') + 1 });
    const run = await host.tide(['update']);
    assert.is(run.code, 0, run.stderr);
    assert.is(await host.serving(), 'demo 1.1.0');
  } finally {
    await host.cleanup();
  }
});

test('--force ignores the rollout, never a signature', async () => {
  const host = await createHostFixture({ serve: 'http', health: quickHealth });
  try {
    await installFirst(host);
    await host.publish('1.1.0', 'good', { rolloutPercent: 0, signers: [await makeKey('stranger')] });
    const before = await snapshotHost(host);
    const run = await host.tide(['update', '--force']);
    assertRefused(run, { exit: 3, code: 'signature', message: /no valid signature by a trusted key/, mirror: host.mirrorUrl, file: 'channels/stable.json' });
    await assertUntouched(host, before);
  } finally {
    await host.cleanup();
  }
});

test.run();
