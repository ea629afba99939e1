// test-needs: nginx, podman, network
// SPEC containers.md#podman-state-loss, with real podman: its database (libpod's
// bolt_state.db) is removed while its storage and the containers' processes remain.
// Without heal_state, tide says so in one line and what to run (exit 6) and touches
// nothing; with heal_state = true, tide recover clears the lost containers, runs
// podman system renumber and recreates every stage from the verified artifacts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listContainers } from '../../scripts/lib/podman-images.js';
import { assertStartOrder, createStagedHost, stageNames } from './staged-host.js';

const test = suite('podman state loss');

test('a lost podman database: one line and exit 6 without heal_state; with it, tide recover brings every stage back', async () => {
  const h = await createStagedHost();
  try {
    await h.host.publish('1.0.0', 'good', { images: await h.images('1.0.0') });
    const first = await h.tide(['update']);
    assert.is(first.code, 0, first.stdout + first.stderr);
    const before = await Promise.all(stageNames.map((n) => h.inspect(n)));
    const root = h.podman.argv[h.podman.argv.indexOf('--root') + 1]!;
    rmSync(join(root, 'libpod', 'bolt_state.db'));
    assert.equal(await listContainers(h.podman), [], 'podman lists nothing');

    const refused = await h.tide(['recover']);
    assert.is(refused.code, 6, refused.stdout + refused.stderr);
    const lines = refused.stderr.trim().split('\n').filter((l) => l.includes('podman-state'));
    assert.is(lines.length, 1, refused.stderr);
    assert.match(lines[0]!, /^tide: podman-state: podman's state is broken: .*podman ps --all --external lists mcns \([0-9a-f]{12}\), proxy .*; set \[podman\] heal_state = true and run `tide recover`/);
    const reconcile = await h.tide(['reconcile']);
    assert.is(reconcile.code, 6, reconcile.stdout + reconcile.stderr);
    assert.match(reconcile.stderr, /podman-state: podman's state is broken/);

    const config = readFileSync(h.host.configPath, 'utf8');
    writeFileSync(h.host.configPath, config.replace(/^\[podman\]\nargv = .*$/m, (line) => `${line}\nheal_state = true`));
    const healed = await h.tide(['recover']);
    assert.is(healed.code, 0, healed.stdout + healed.stderr);
    assert.match(healed.stderr, /healing it \(\[podman\] heal_state = true\)/);
    assert.match(healed.stderr, /ran podman system renumber/);
    assert.match(healed.stdout, /1\.0\.0 is healthy after recovery/);
    assert.equal((await listContainers(h.podman)).map((c) => [c.name, c.image, c.state]), [
      ['mcns', 'localhost/mcns:1.0.0', 'running'], ['proxy', 'localhost/proxy:1.0.0', 'running'], ['web', 'localhost/web:1.0.0', 'running'],
    ]);
    const after = await Promise.all(stageNames.map((n) => h.inspect(n)));
    assert.ok(after.every((c, i) => c!.id !== before[i]!.id), 'recreated');
    await assertStartOrder(h, stageNames);
  } finally {
    await h.cleanup().catch((err) => console.error(`cleanup: ${(err as Error).message}`));
  }
});

test.run();
