// test-needs: network
// SPEC formats.md#rollout-fallback through the real CLI, real keys and an HTTP mirror on
// 127.0.0.1: `tide release promote --rollout P` names the channel's previous fully
// rolled-out release as the fallback; a host outside the bucket installs it when it has
// nothing or something older; a host inside gets the new release; a host on the fallback
// or newer does nothing. The refusals, on both sides, leave everything as it was.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { rolloutBucket } from '../../src/plan/rollout.js';
import { assertRefused, assertUntouched, quickHealth, snapshotHost } from './refusal-checks.js';
import { keyArgs, releaseSide, type KeyFiles, type ReleaseSide } from './release-side.js';

const test = suite('rollout fallback');
// The fixture's config sets machine_id = "test-machine".
const bucket = (version: string) => rolloutBucket('test-machine', 'demo', version);
/** The highest percent that leaves this host out of the rollout of `version`. */
const outside = (version: string) => String(bucket(version));
const inside = (version: string) => String(bucket(version) + 1);

interface Side { host: HostFixture; side: ReleaseSide; a: KeyFiles }

async function withHost(body: (s: Side) => Promise<void>): Promise<void> {
  const host = await createHostFixture({ serve: 'http', health: quickHealth });
  try {
    const side = releaseSide(host);
    await body({ host, side, a: side.keyFiles(host.keys[0]!, 'a') });
  } finally {
    await host.cleanup();
  }
}

const promote = (s: Side, version: string, ...more: string[]) =>
  s.side.release('promote', '--tree', s.side.tree, '--app', 'demo', '--channel', 'stable', '--version', version, ...keyArgs([s.a]), ...more);
const promoteOk = async (s: Side, version: string, ...more: string[]) => {
  const run = await promote(s, version, ...more);
  assert.is(run.code, 0, run.stdout + run.stderr);
  return run;
};
const treePointer = (s: Side) => JSON.parse(readFileSync(join(s.side.tree, 'channels', 'stable.json'), 'utf8'));

test('a host provisioned mid-rollout outside the bucket gets the fallback; inside it gets the new one; on the fallback or newer it does nothing', () => withHost(async (s) => {
  const { host, side } = s;
  assert.ok(bucket('1.1.0') < 99 && bucket('1.2.0') < 99, 'the buckets leave room for "inside"');
  await side.build('1.0.0', [s.a]);
  await promoteOk(s, '1.0.0');
  await side.build('1.1.0', [s.a]);
  const promoted = await promoteOk(s, '1.1.0', '--rollout', outside('1.1.0'));
  assert.match(promoted.stdout, /fallback 1\.0\.0, the channel's previous fully rolled-out release/);
  const pointer = treePointer(s);
  assert.is(pointer.fallback.version, '1.0.0');
  assert.is(pointer.fallback.manifest.path, 'releases/1.0.0/manifest.json');
  await side.publish();

  // Provisioned now, with nothing installed: outside the bucket of 1.1.0, it takes 1.0.0.
  const first = await host.tide(['update']);
  assert.is(first.code, 0, first.stdout + first.stderr);
  assert.match(first.stdout + first.stderr, /fallback/);
  assert.is(await host.serving(), 'demo 1.0.0');
  assert.is(host.stateJson().history.at(-1)?.to, '1.0.0');

  // On the fallback already: nothing to do.
  const before = await snapshotHost(host);
  const again = await host.tide(['update']);
  assert.is(again.code, 0, again.stdout + again.stderr);
  assert.match(again.stdout, /not in the rollout of 1\.1\.0/);
  await assertUntouched(host, before, { pointerAccepted: true });

  // The rollout widens to include this host: it gets 1.1.0; the fallback is carried along.
  await promoteOk(s, '1.1.0', '--rollout', inside('1.1.0'));
  assert.is(treePointer(s).fallback.version, '1.0.0');
  await side.publish();
  const widened = await host.tide(['update']);
  assert.is(widened.code, 0, widened.stdout + widened.stderr);
  assert.is(await host.serving(), 'demo 1.1.0');

  // The next release starts its rollout before 1.1.0 reached everyone: the fallback is still 1.0.0,
  // and this host, on 1.1.0 (newer than the fallback) and outside the bucket of 1.2.0, does nothing.
  await side.build('1.2.0', [s.a]);
  await promoteOk(s, '1.2.0', '--rollout', outside('1.2.0'));
  assert.is(treePointer(s).fallback.version, '1.0.0');
  await side.publish();
  const newer = await snapshotHost(host);
  const skipped = await host.tide(['update']);
  assert.is(skipped.code, 0, skipped.stdout + skipped.stderr);
  assert.match(skipped.stdout, /not in the rollout of 1\.2\.0/);
  await assertUntouched(host, newer, { pointerAccepted: true });
}));

test('a fresh host inside the bucket gets the new release; a host on an older release than the fallback moves to the fallback', () => withHost(async (s) => {
  const { host, side } = s;
  await side.build('0.9.0', [s.a]);
  await promoteOk(s, '0.9.0');
  await side.publish();
  const old = await host.tide(['update']);
  assert.is(old.code, 0, old.stdout + old.stderr);
  assert.is(await host.serving(), 'demo 0.9.0');
  await side.build('1.0.0', [s.a]);
  await promoteOk(s, '1.0.0');
  await side.build('1.1.0', [s.a]);
  await promoteOk(s, '1.1.0', '--rollout', outside('1.1.0'));
  await side.publish();
  const moved = await host.tide(['update']);
  assert.is(moved.code, 0, moved.stdout + moved.stderr);
  assert.is(await host.serving(), 'demo 1.0.0', '0.9.0 is older than the fallback');
  // A second, fresh host inside the bucket: the new release, not the fallback.
  await promoteOk(s, '1.1.0', '--rollout', inside('1.1.0'));
  await side.publish();
  const fresh = await createHostFixture({ serve: 'http', health: quickHealth, mirrors: () => [host.mirrorUrl] });
  try {
    writeFileSync(join(fresh.dir, 'release.pub.asc'), s.a.key.publicArmored);
    const run = await fresh.tide(['update']);
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.is(await fresh.serving(), 'demo 1.1.0');
  } finally {
    await fresh.cleanup();
  }
}));

test('an export carries the fallback: a host with no mirror, outside the bucket, installs it from the file', () => withHost(async (s) => {
  const { host, side } = s;
  await side.build('1.0.0', [s.a]);
  await promoteOk(s, '1.0.0');
  await side.build('1.1.0', [s.a]);
  await promoteOk(s, '1.1.0', '--rollout', outside('1.1.0'));
  const file = join(host.dir, 'offline.tar');
  const exported = await side.ok('export', '--tree', side.tree, '--app', 'demo', '--channel', 'stable', '--out', file, '--json');
  const paths: string[] = JSON.parse(exported.stdout).paths;
  assert.ok(paths.includes('releases/1.0.0/manifest.json') && paths.includes('releases/1.0.0/demo-1.0.0.tar.gz'), paths.join(' '));
  const run = await host.tide(['update', '--from', file]);
  assert.is(run.code, 0, run.stdout + run.stderr);
  assert.is(await host.serving(), 'demo 1.0.0');
}));

test('promote refuses a fallback that is not older than the release, a revoked one, one not built, and --fallback without a partial rollout', () => withHost(async (s) => {
  const { side } = s;
  for (const v of ['1.0.0', '1.1.0', '1.2.0']) await side.build(v, [s.a]);
  await promoteOk(s, '1.2.0');
  const pointerFile = join(side.tree, 'channels', 'stable.json');
  const unchanged = readFileSync(pointerFile);
  const expectRefusal = async (run: Awaited<ReturnType<typeof promote>>, exit: number, code: string, message: RegExp) => {
    assertRefused(run, { exit, code, message });
    assert.ok(readFileSync(pointerFile).equals(unchanged), 'the pointer was not rewritten');
  };
  // The channel's full release 1.2.0 is newer than 1.1.0 being rolled out.
  await expectRefusal(await promote(s, '1.1.0', '--rollout', '10'), 3, 'downgrade', /fallback 1\.2\.0 is not older than the release 1\.1\.0/);
  await expectRefusal(await promote(s, '1.1.0', '--rollout', '10', '--fallback', '1.1.0'), 3, 'downgrade', /fallback 1\.1\.0 is not older/);
  await expectRefusal(await promote(s, '1.1.0', '--rollout', '10', '--fallback', '0.5.0'), 2, 'usage', /release 0\.5\.0 has no manifest/);
  await expectRefusal(await promote(s, '1.1.0', '--fallback', '1.0.0'), 2, 'usage', /--fallback needs --rollout below 100/);
  await side.ok('revoke', '--tree', side.tree, '--app', 'demo', '--version', '1.0.0', ...keyArgs([s.a]));
  await expectRefusal(await promote(s, '1.1.0', '--rollout', '10', '--fallback', '1.0.0'), 3, 'revoked', /fallback 1\.0\.0 is revoked/);
  // --no-fallback: a partial rollout without one, said out loud.
  const bare = await promoteOk(s, '1.1.0', '--rollout', '10', '--no-fallback');
  assert.match(bare.stdout, /no fallback \(--no-fallback\)/);
  assert.is(treePointer(s).fallback, undefined);
}));

test('a host refuses a revoked fallback, a fallback manifest other than the one pinned, and a pointer whose fallback is newer', () => withHost(async (s) => {
  const { host, side } = s;
  await side.build('1.0.0', [s.a]);
  await promoteOk(s, '1.0.0');
  await side.build('1.1.0', [s.a]);
  await promoteOk(s, '1.1.0', '--rollout', outside('1.1.0'));
  await side.publish();
  const manifest = join(host.mirrorDir, 'releases', '1.0.0', 'manifest.json');
  const good = readFileSync(manifest);
  const empty = await snapshotHost(host);

  // The mirror serves other (validly signed) bytes for the fallback's manifest than the pointer pins.
  // Same length, other bytes (a year later): the fetch is bounded by the pinned size, the sha256 tells them apart.
  const other = Buffer.from(good.toString('utf8').replace(/("published": ?")(\d{4})/, (_m, head: string, year: string) => `${head}${Number(year) + 1}`));
  assert.is(other.length, good.length);
  assert.not.ok(other.equals(good));
  writeFileSync(manifest, other);
  await side.ok('sign', '--key', s.a.privatePath, manifest);
  assertRefused(await host.tide(['update']), { exit: 3, code: 'hash', message: /manifest sha256 is [0-9a-f]+, the channel pointer says/, file: 'releases/1.0.0/manifest.json' });
  await assertUntouched(host, empty, { pointerAccepted: true });
  writeFileSync(manifest, good);
  writeFileSync(`${manifest}.asc`, readFileSync(join(side.tree, 'releases', '1.0.0', 'manifest.json.asc')));

  // 1.0.0 revoked after the pointer was signed: the host never installs it, fallback or not.
  await side.ok('revoke', '--tree', side.tree, '--app', 'demo', '--version', '1.0.0', ...keyArgs([s.a]));
  await side.publish();
  assertRefused(await host.tide(['update']), { exit: 3, code: 'revoked', message: /version 1\.0\.0 is revoked/, file: 'channels/stable.json' });
  await assertUntouched(host, empty, { pointerAccepted: true });

  // A pointer signed by a trusted key whose fallback is newer than its version is malformed.
  const pointerFile = join(host.mirrorDir, 'channels', 'stable.json');
  const pointer = JSON.parse(readFileSync(pointerFile, 'utf8'));
  const twisted = { ...pointer, sequence: pointer.sequence + 1, fallback: { ...pointer.fallback, version: '1.2.0' } };
  writeFileSync(pointerFile, JSON.stringify(twisted));
  await side.ok('sign', '--key', s.a.privatePath, pointerFile);
  assertRefused(await host.tide(['update']), { exit: 3, code: 'schema', message: /fallback\.version must be older than version/, file: 'channels/stable.json' });
  await assertUntouched(host, empty, { pointerAccepted: true });
}));

test.run();
