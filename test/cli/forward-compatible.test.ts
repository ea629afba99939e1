// test-needs: nginx, network
// SPEC formats.md#release-manifest: a host ignores artifact types it does not know, so a
// release built by a newer tide (a tree artifact, or something later) installs here from its bundle.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHostFixture } from '../helpers/host-fixture.js';

test('a release with an artifact type this tide does not know installs from its bundle', async () => {
  const host = await createHostFixture();
  try {
    const unknown = { type: 'chunked-tree', path: 'chunks.json', size: 12, sha256: 'b'.repeat(64), chunking: 'fastcdc' };
    await host.publish('1.0.0', 'good', { extraArtifacts: [unknown] });
    const run = await host.tide(['update']);
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.not.match(run.stdout + run.stderr, /discriminator/);
    assert.is(await host.serving(), 'demo 1.0.0');
    const kept = JSON.parse(readFileSync(join(host.stateDir, 'artifacts', '1.0.0', 'manifest.json'), 'utf8')) as { artifacts: { type: string }[] };
    assert.equal(kept.artifacts.map((a) => a.type), ['bundle'], 'only what this tide knows is kept');
  } finally {
    await host.cleanup();
  }
});

test.run();
