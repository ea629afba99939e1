// test-needs: nginx, network
// Issue 11's scenario through the real CLI: `[[health.probes]]` instead of
// `[[health.probe]]` used to probe nothing and commit a release whose service exits
// at start. Now the typo is exit 2 before anything is fetched, and a config without
// probes updates unprobed only when it says so (and says so in the log).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHostFixture } from '../helpers/host-fixture.js';

const test = suite('config typo end to end');

test('[[health.probes]] and a release that exits at start: exit 2, nothing installed, nothing committed', async () => {
  const host = await createHostFixture();
  try {
    await host.publish('1.0.0');
    assert.is((await host.tide(['update'])).code, 0);
    const config = readFileSync(host.configPath, 'utf8');
    const line = config.split('\n').indexOf('[[health.probe]]') + 1;
    writeFileSync(host.configPath, config.replace('[[health.probe]]', '[[health.probes]]'));
    await host.publish('1.1.0', 'crash');
    const historyBefore = host.stateJson().history.length;
    for (const command of ['update', 'check', 'status']) {
      const run = await host.tide([command]);
      assert.is(run.code, 2, `${command}: ${run.stderr}`);
      assert.is(run.stderr, `tide: config: health.probes: unknown table (line ${line}); did you mean health.probe? (file ${host.configPath})\n`);
    }
    assert.is(readlinkSync(join(host.stateDir, 'current')), 'versions/1.0.0');
    assert.not.ok(existsSync(join(host.stateDir, 'versions', '1.1.0')), '1.1.0 was never staged');
    assert.is(await host.serving(), 'demo 1.0.0');
    assert.is(host.stateJson().history.length, historyBefore);
  } finally {
    await host.cleanup();
  }
});

test('probes = "none": the update commits unprobed, and the log says so', async () => {
  const host = await createHostFixture();
  try {
    const config = readFileSync(host.configPath, 'utf8');
    const probeless = config.replace(/\[\[health\.probe\]\]\ntype = "http"\nurl = .*\nexpect = 200\n/, '').replace('[health]\n', '[health]\nprobes = "none"\n');
    assert.not.match(probeless, /health\.probe\]/);
    writeFileSync(host.configPath, probeless);
    await host.publish('1.0.0');
    const run = await host.tide(['update']);
    assert.is(run.code, 0, run.stderr);
    assert.match(run.stderr, /tide: warn: 1\.0\.0 is taken as healthy without probing: \[health\] probes = "none"/);
    assert.match(run.stdout, /updated \(nothing\) → 1\.0\.0: not probed: the config says \[health\] probes = "none"/);
  } finally {
    await host.cleanup();
  }
});

test.run();
