// test-needs: network
// SPEC trust.md#offline-updates through the real CLI: `tide release export` writes one
// file; `tide update --from FILE` verifies it exactly as a mirror's answers (same
// checks, same exit codes) on a host whose mirrors are all unreachable.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, truncateSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { createHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { freePort } from '../../scripts/lib/free-port.js';
import { assertRefused, assertUntouched, quickHealth, snapshotHost } from './refusal-checks.js';
import { keyArgs, releaseSide, type KeyFiles, type ReleaseSide } from './release-side.js';

const test = suite('offline updates');

interface Offline { host: HostFixture; side: ReleaseSide; a: KeyFiles; exportFile(name: string): Promise<string> }

/** A host whose only mirror refuses connections, and a release tree promoted by key a. */
async function withOffline(body: (o: Offline) => Promise<void>): Promise<void> {
  const closed = `http://127.0.0.1:${await freePort()}`;
  const host = await createHostFixture({ health: quickHealth, mirrors: () => [closed] });
  try {
    const side = releaseSide(host);
    const a = side.keyFiles(host.key, 'a');
    const exportFile = async (name: string) => {
      const file = join(host.dir, name);
      await side.ok('export', '--tree', side.tree, '--app', 'demo', '--channel', 'stable', '--out', file);
      return file;
    };
    await body({ host, side, a, exportFile });
  } finally {
    await host.cleanup();
  }
}

const promote = (side: ReleaseSide, version: string, keys: KeyFiles[], ...more: string[]) =>
  side.ok('promote', '--tree', side.tree, '--app', 'demo', '--channel', 'stable', '--version', version, ...keyArgs(keys), ...more);

test('a host with no mirror reachable updates from an export file, root chain included', () => withOffline(async ({ host, side, a, exportFile }) => {
  const b = await side.newKey('b');
  // The publisher rotated to root 2 (keys a and b) and promotes with b only.
  await side.ok('rotate-keys', '--tree', side.tree, '--app', 'demo', '--current', a.publicPath, '--add', b.publicPath, ...keyArgs([a, b]));
  await side.build('1.0.0', [b]);
  await promote(side, '1.0.0', [b]);
  const file = await exportFile('demo-stable.tar');
  const offline = await host.tide(['update']);
  assert.is(offline.code, 4, offline.stdout + offline.stderr);
  const check = await host.tide(['check', '--from', file]);
  assert.is(check.code, 100, check.stdout + check.stderr);
  assert.match(check.stderr, /trusting root 2: 2 key\(s\), threshold 1/);
  const run = await host.tide(['update', '--from', file]);
  assert.is(run.code, 0, run.stdout + run.stderr);
  assert.is(await host.serving(), 'demo 1.0.0');
  const again = await host.tide(['update', '--from', file]);
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout, /up to date: 1\.0\.0/);
  assert.is(host.stateJson().sequences.stable, 1);
}));

test('the same checks as a mirror: tampered bytes, an older export, an expired pointer', () => withOffline(async ({ host, side, a, exportFile }) => {
  await side.build('1.0.0', [a]);
  await promote(side, '1.0.0', [a]);
  const older = await exportFile('older.tar');
  await side.build('1.1.0', [a]);
  await promote(side, '1.1.0', [a]);
  const newer = await exportFile('newer.tar');
  const url = (file: string) => pathToFileURL(file).href;
  // A byte of the signed pointer changed inside the file.
  const tampered = join(host.dir, 'tampered.tar');
  writeFileSync(tampered, Buffer.from(readFileSync(newer).toString('latin1').replace('"sequence": 2', '"sequence": 9'), 'latin1'));
  const before = await snapshotHost(host);
  assertRefused(await host.tide(['update', '--from', tampered]), { exit: 3, code: 'signature', message: /does not match these bytes/, mirror: url(tampered), file: 'channels/stable.json' });
  await assertUntouched(host, before);
  assert.is((await host.tide(['update', '--from', newer])).code, 0);
  assert.is(await host.serving(), 'demo 1.1.0');
  // Sequences hold across files: the older export is a rollback.
  const installed = await snapshotHost(host);
  assertRefused(await host.tide(['update', '--from', older]), { exit: 3, code: 'sequence', message: /sequence 1, this host already accepted 2/, mirror: url(older), file: 'channels/stable.json' });
  await assertUntouched(host, installed);
  // An expired pointer is refused from a file as from a mirror.
  await promote(side, '1.1.0', [a], '--expires', '3s');
  const short = await exportFile('short.tar');
  await delay(3_500);
  assertRefused(await host.tide(['update', '--from', short]), { exit: 3, code: 'expired', message: /channel pointer expired at/, mirror: url(short), file: 'channels/stable.json' });
  await assertUntouched(host, installed);
}));

test('revocations travel in the file: a recall downgrades only with its revocation', () => withOffline(async ({ host, side, a, exportFile }) => {
  await side.build('1.0.0', [a]);
  await side.build('1.1.0', [a]);
  await promote(side, '1.1.0', [a]);
  assert.is((await host.tide(['update', '--from', await exportFile('first.tar')])).code, 0);
  assert.is(await host.serving(), 'demo 1.1.0');
  // Back to 1.0.0 without a revocation: a downgrade, refused.
  await promote(side, '1.0.0', [a]);
  const before = await snapshotHost(host);
  assertRefused(await host.tide(['update', '--from', await exportFile('back.tar')]), { exit: 3, code: 'downgrade', message: /older than the current 1\.1\.0/ });
  await assertUntouched(host, before, { pointerAccepted: true });
  // The recall: 1.1.0 revoked, the channel on 1.0.0 again.
  await side.ok('revoke', '--tree', side.tree, '--app', 'demo', '--version', '1.1.0', ...keyArgs([a]));
  await promote(side, '1.0.0', [a]);
  const recall = await host.tide(['update', '--from', await exportFile('recall.tar')]);
  assert.is(recall.code, 0, recall.stdout + recall.stderr);
  assert.is(await host.serving(), 'demo 1.0.0');
  assert.equal(host.stateJson().revocations.versions, ['1.1.0']);
}));

test('a damaged export is no answer (exit 4); a missing one is a usage error', () => withOffline(async ({ host, side, a, exportFile }) => {
  await side.build('1.0.0', [a]);
  await promote(side, '1.0.0', [a]);
  const file = await exportFile('demo.tar');
  // Cut short inside the bundle, the last member.
  const cut = join(host.dir, 'cut.tar');
  writeFileSync(cut, readFileSync(file));
  truncateSync(cut, statSync(cut).size - 3000);
  const before = await snapshotHost(host);
  const damaged = await host.tide(['update', '--from', cut]);
  assert.is(damaged.code, 4, damaged.stdout + damaged.stderr);
  assert.match(damaged.stderr, /expected a tide export \(a tar of mirror-tree paths\), found a file cut short/);
  const missing = await host.tide(['update', '--from', join(host.dir, 'nope.tar')]);
  assert.is(missing.code, 2, missing.stdout + missing.stderr);
  assert.match(missing.stderr, /--from: expected an export file/);
  await assertUntouched(host, before);
}));

test.run();
