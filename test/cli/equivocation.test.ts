// test-needs: network
// SPEC trust.md#equivocation through the real CLI: one sequence names one pointer. A
// pointer with the sequence this host accepted but other bytes is refused; two mirrors
// serving different valid pointers with the same highest sequence are both refused.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { createHostFixture } from '../helpers/host-fixture.js';
import { serveMirrorDir, type MirrorHttpServer } from '../helpers/mirror-http.js';
import { mirrorPublisher } from '../helpers/mirror-publisher.js';
import { tempDir } from '../helpers/tmp.js';
import { assertRefused, assertUntouched, installFirst, quickHealth, snapshotHost } from './refusal-checks.js';

const test = suite('equivocation');
const pointer = 'channels/stable.json';
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

test('a pointer with the accepted sequence and other bytes is refused as equivocation', async () => {
  const host = await createHostFixture({ serve: 'http', health: quickHealth });
  try {
    await installFirst(host);
    await host.publish('1.1.0');
    assert.is((await host.tide(['update'])).code, 0);
    const accepted = (host.stateJson() as unknown as { acceptedPointers: Record<string, { sequence: number; sha256: string }> }).acceptedPointers.stable!;
    assert.equal(accepted.sha256, sha256(readFileSync(join(host.mirrorDir, pointer))));
    const before = await snapshotHost(host);
    // Validly signed, sequence 2 again, naming another release.
    await host.publish('1.2.0', 'good', { sequence: 2 });
    for (const args of [['update'], ['update', '--force'], ['check']]) {
      const run = await host.tide(args);
      assertRefused(run, { exit: 3, code: 'equivocation', message: /sequence 2, which this host already accepted with other bytes .*version 1\.2\.0\): equivocation/, mirror: host.mirrorUrl, file: pointer });
      await assertUntouched(host, before);
    }
    assert.equal((host.stateJson() as unknown as { acceptedPointers: Record<string, unknown> }).acceptedPointers.stable, accepted, 'the accepted pointer is kept');
    // The publisher moves on with a higher sequence: accepted.
    await host.publish('1.2.0', 'good', { sequence: 3 });
    assert.is((await host.tide(['update'])).code, 0);
    assert.is(await host.serving(), 'demo 1.2.0');
  } finally {
    await host.cleanup();
  }
});

test('two mirrors serving different valid pointers with the same highest sequence are both refused', async () => {
  const other = tempDir('tide-mirror-b-');
  let second: MirrorHttpServer | undefined;
  const host = await createHostFixture({ serve: 'http', health: quickHealth, mirrors: (own) => [own, 'http://127.0.0.1:1/placeholder'] });
  try {
    second = await serveMirrorDir(other.path);
    const config = readFileSync(host.configPath, 'utf8').replace('http://127.0.0.1:1/placeholder', second.url);
    writeFileSync(host.configPath, config);
    await installFirst(host);
    cpSync(host.mirrorDir, other.path, { recursive: true });
    const before = await snapshotHost(host);
    // Mirror a gets 1.1.0 at sequence 2; mirror b gets 1.2.0 at sequence 2, both signed by the trusted key.
    await host.publish('1.1.0');
    await mirrorPublisher({ mirrorDir: other.path, buildDir: join(other.path, '.build'), key: host.key }).publish('1.2.0', 'good', { sequence: 2 });
    const run = await host.tide(['update']);
    const line = assertRefused(run, { exit: 3, code: 'equivocation', message: /mirrors serve different channel pointers with sequence 2: .*neither is trusted/, file: pointer });
    assert.ok(line.includes(host.mirrorUrl) && line.includes(second.url), `names both mirrors: ${line}`);
    assert.ok(line.includes('version 1.1.0') && line.includes('version 1.2.0'), `names both versions: ${line}`);
    await assertUntouched(host, before);
    // One mirror catches up with the other's pointer: the same bytes everywhere, accepted.
    cpSync(join(host.mirrorDir, 'releases', '1.1.0'), join(other.path, 'releases', '1.1.0'), { recursive: true });
    cpSync(join(host.mirrorDir, pointer), join(other.path, pointer));
    cpSync(join(host.mirrorDir, `${pointer}.asc`), join(other.path, `${pointer}.asc`));
    const agreed = await host.tide(['update']);
    assert.is(agreed.code, 0, agreed.stdout + agreed.stderr);
    assert.is(await host.serving(), 'demo 1.1.0');
  } finally {
    await second?.close();
    await host.cleanup();
    other.cleanup();
  }
});

test('a state.json from before pointer digests (sequences only) still works and gains the digest', async () => {
  const host = await createHostFixture({ serve: 'http', health: quickHealth });
  try {
    await installFirst(host);
    const file = join(host.stateDir, 'state.json');
    const state = JSON.parse(readFileSync(file, 'utf8'));
    delete state.acceptedPointers;
    writeFileSync(file, JSON.stringify(state));
    const check = await host.tide(['check']);
    assert.is(check.code, 0, check.stdout + check.stderr);
    const after = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(after.sequences, { stable: 1 });
    assert.equal(after.acceptedPointers.stable, { sequence: 1, sha256: sha256(readFileSync(join(host.mirrorDir, pointer))), root: 1 });
    // A lower sequence is still refused, by the old field alone.
    state.sequences.stable = 5;
    writeFileSync(file, JSON.stringify(state));
    assertRefused(await host.tide(['check']), { exit: 3, code: 'sequence', message: /sequence 1, this host already accepted 5/, file: pointer });
  } finally {
    await host.cleanup();
  }
});

test.run();
