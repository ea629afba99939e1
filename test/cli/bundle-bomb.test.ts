// test-needs: network, nginx
// A decompression bomb (a 1.2 GB file in a bundle of a few MB) served by a fast local
// server, again and again: every run must end in the one-line `size` refusal and exit 3,
// never an unhandled rejection, whatever the race between the download and the
// extraction that refuses it; and nothing may stay in staging.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import type { MirrorServing } from '../helpers/serve-mirror.js';
import { tempDir } from '../helpers/tmp.js';
import { writeBombBundle } from './bomb-bundle.js';
import { assertRefused, assertUntouched, installFirst, quickHealth, snapshotHost } from './refusal-checks.js';

const test = suite('refusals: a decompression bomb, served fast');
const runs = 20;
const bombDir = tempDir('tide-bomb-');
const bombPath = join(bombDir.path, 'bomb.tar.gz');
let bomb: Buffer | undefined;

async function bombBytes(): Promise<Buffer> {
  if (!bomb) {
    await writeBombBundle(bombPath, { version: '1.1.0' });
    bomb = readFileSync(bombPath);
    rmSync(bombPath);
  }
  return bomb;
}

async function servedRepeatedly(serve: MirrorServing): Promise<void> {
  const host: HostFixture = await createHostFixture({ serve, health: quickHealth });
  try {
    await installFirst(host);
    await host.publish('1.1.0', 'good', { bundle: await bombBytes() });
    const before = await snapshotHost(host);
    for (let i = 1; i <= runs; i++) {
      const run = await host.tide(['update']);
      assert.not.match(run.stderr, /Unhandled|at .*\.js:\d+|node:internal/, `run ${i}: a stack trace escaped:\n${run.stderr}`);
      assertRefused(run, { exit: 3, code: 'size', message: /expected at most 1073741824 unpacked bytes, found \d{10} by this entry/, file: 'releases/1.1.0/demo-1.1.0.tar.gz', entry: 'web/big.bin' });
      const staging = join(host.stateDir, 'staging');
      assert.ok(!existsSync(staging) || readdirSync(staging).length === 0, `run ${i}: staging left behind`);
    }
    await assertUntouched(host, before, { pointerAccepted: true });
  } finally {
    await host.cleanup();
  }
}

test(`a bomb served ${runs} times in a row by Python's http.server: always exit 3, nothing in staging`, () => servedRepeatedly('python'));
test(`a bomb served ${runs} times in a row by nginx: always exit 3, nothing in staging`, () => servedRepeatedly('nginx'));
test.after(() => bombDir.cleanup());

test.run();
