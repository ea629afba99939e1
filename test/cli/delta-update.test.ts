// test-needs: nginx, network
// SPEC formats.md#the-tree-artifact end to end: releases built and published by the real
// `tide release` commands, a host updating with the real binary over file://, a server
// that ignores Range (Python's http.server) and nginx. The second update is staged from
// the kept version's files and the missing objects; what it cost is in `--json` and the log.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { objectPath } from '../../src/bundle/tree-document.js';
import { syncfsIsDurable } from '../../src/store/atomic.js';
import { pathToFileURL } from 'node:url';
import { tempDir } from '../helpers/tmp.js';
import { mountLazyfs } from '../helpers/lazyfs.js';
import { join } from 'node:path';
import { writeAppTree } from '../../scripts/lib/service-app.js';
import { createHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import type { MirrorServing } from '../helpers/serve-mirror.js';
import { keyArgs, releaseSide, type ReleaseSide } from './release-side.js';

const test = suite('delta updates');

interface Transfer { path: string; type: string; how: string; fetchedBytes: number; reusedBytes: number; from?: string }

const shared = { 'web/app.js': randomBytes(256 * 1024), 'lib/data.bin': randomBytes(512 * 1024) };

/** An app tree of `version`: the service and its page change with it, the big files do not. */
function appSource(host: HostFixture, version: string, changed: Record<string, Buffer> = {}): string {
  const source = join(host.dir, 'sources', version);
  writeAppTree(source, version, 'good');
  for (const [path, bytes] of Object.entries({ ...shared, ...changed })) {
    mkdirSync(join(source, path, '..'), { recursive: true, mode: 0o755 });
    writeFileSync(join(source, path), bytes);
    chmodSync(join(source, path), 0o644);
  }
  return source;
}

async function release(side: ReleaseSide, host: HostFixture, version: string, source: string): Promise<void> {
  const key = keyArgs([side.keyFiles(host.key, 'release')]);
  await side.ok('build', '--tree', side.tree, '--app', 'demo', '--version', version, '--from', source, ...key);
  await side.ok('promote', '--tree', side.tree, '--app', 'demo', '--channel', 'stable', '--version', version, ...key);
  await side.publish();
}

async function updateJson(host: HostFixture): Promise<{ transfers: Transfer[]; stderr: string }> {
  const run = await host.tide(['update', '--json']);
  assert.is(run.code, 0, run.stdout + run.stderr);
  return { transfers: (JSON.parse(run.stdout) as { transfers: Transfer[] }).transfers, stderr: run.stderr };
}

for (const serve of ['file', 'python', 'nginx'] as MirrorServing[]) {
  test(`over ${serve}: the first install is full, the next update a delta that fetches only what changed`, async () => {
    const host = await createHostFixture({ serve });
    try {
      const side = releaseSide(host);
      await release(side, host, '1.0.0', appSource(host, '1.0.0'));
      const first = await updateJson(host);
      assert.equal(first.transfers.map((t) => [t.type, t.how]), [['bundle', 'full']]);
      assert.match(first.stderr, /no kept version shares enough/);

      const source = appSource(host, '1.1.0');
      await release(side, host, '1.1.0', source);
      const bundleSize = (JSON.parse(readFileSync(join(side.tree, 'releases', '1.1.0', 'manifest.json'), 'utf8')) as { artifacts: { type: string; size: number }[] })
        .artifacts.find((a) => a.type === 'bundle')!.size;
      const second = await updateJson(host);
      assert.is(await host.serving(), 'demo 1.1.0');
      assert.is(second.transfers.length, 1, JSON.stringify(second.transfers));
      const delta = second.transfers[0]!;
      assert.equal([delta.type, delta.how, delta.from], ['tree', 'delta', '1.0.0']);
      assert.is(delta.reusedBytes, 768 * 1024, 'web/app.js and lib/data.bin come from 1.0.0');
      assert.ok(delta.fetchedBytes < bundleSize / 10, `fetched ${delta.fetchedBytes} bytes, the bundle is ${bundleSize}`);
      assert.match(second.stderr, /releases\/1\.1\.0\/tree\.json: delta from 1\.0\.0, \d+ bytes fetched, 786432 bytes reused/);
      const installed = join(host.stateDir, 'versions', '1.1.0');
      for (const path of ['bin/demo', 'web/index.html', 'web/app.js', 'lib/data.bin']) {
        assert.ok(readFileSync(join(installed, path)).equals(readFileSync(join(source, path))), path);
        assert.is(lstatSync(join(installed, path)).nlink, 1, `${path} is a copy, not a hard link`);
      }
      assert.is(lstatSync(installed).mode & 0o7777, 0o755, 'the root directory is 0755');
      assert.is(lstatSync(join(installed, 'bin/demo')).mode & 0o7777, 0o755);
      assert.is(lstatSync(join(installed, 'web/app.js')).mode & 0o7777, 0o644);
    } finally {
      await host.cleanup();
    }
  });
}

test('a mirror missing an object is skipped for it like one missing an artifact: the next mirror serves it', async () => {
  const tmp = tempDir();
  const other = join(tmp.path, 'other-mirror');
  const host = await createHostFixture({ mirrors: (own) => [pathToFileURL(other).href, own] });
  try {
    const side = releaseSide(host);
    await release(side, host, '1.0.0', appSource(host, '1.0.0'));
    await updateJson(host);
    const source = appSource(host, '1.1.0');
    await release(side, host, '1.1.0', source);
    cpSync(host.mirrorDir, other, { recursive: true });
    // Each mirror lacks one of the two changed files' objects: whichever is asked first, one object needs the other.
    const objectOf = (path: string) => objectPath(createHash('sha256').update(readFileSync(join(source, path))).digest('hex'));
    rmSync(join(other, objectOf('bin/demo')));
    rmSync(join(host.mirrorDir, objectOf('web/index.html')));
    const { transfers, stderr } = await updateJson(host);
    assert.equal(transfers.map((t) => [t.how, t.from]), [['delta', '1.0.0']]);
    assert.match(stderr, /warn: mirror file:\/\/\S+ failed for objects\/[0-9a-f]{2}\/[0-9a-f]{64}\.gz: expected the file, it does not exist/);
    assert.is(await host.serving(), 'demo 1.1.0');
  } finally {
    await host.cleanup();
    tmp.cleanup();
  }
});

test('a kept file edited on disk is never reused: its object is fetched instead', async () => {
  const host = await createHostFixture();
  try {
    const side = releaseSide(host);
    await release(side, host, '1.0.0', appSource(host, '1.0.0'));
    await updateJson(host);
    const kept = join(host.stateDir, 'versions', '1.0.0', 'lib', 'data.bin');
    const edited = readFileSync(kept);
    edited[100] ^= 0xff;
    writeFileSync(kept, edited);
    const source = appSource(host, '1.1.0');
    await release(side, host, '1.1.0', source);
    const { transfers, stderr } = await updateJson(host);
    assert.equal(transfers.map((t) => [t.how, t.reusedBytes]), [['delta', 256 * 1024]]);
    assert.match(stderr, /not reusing lib\/data\.bin of 1\.0\.0: its sha256 is [0-9a-f]{64} now; fetching it/);
    assert.ok(readFileSync(join(host.stateDir, 'versions', '1.1.0', 'lib', 'data.bin')).equals(shared['lib/data.bin']));
  } finally {
    await host.cleanup();
  }
});

test('a damaged kept tree.json is no source: the update installs from the bundle, names it, and the next one is a delta again', async () => {
  const host = await createHostFixture();
  try {
    const side = releaseSide(host);
    await release(side, host, '1.0.0', appSource(host, '1.0.0'));
    await updateJson(host);
    const keptTree = join(host.stateDir, 'artifacts', '1.0.0', 'tree.json');
    const bytes = readFileSync(keptTree);
    writeFileSync(keptTree, bytes.subarray(0, bytes.length >> 1));
    await release(side, host, '1.1.0', appSource(host, '1.1.0'));
    const full = await updateJson(host);
    assert.equal(full.transfers.map((t) => [t.type, t.how]), [['bundle', 'full']]);
    assert.match(full.stderr, /warn: not staging from 1\.0\.0: its kept tree\.json is damaged \(it is not the \d+ bytes of sha256 [0-9a-f]{64} its manifest names\)/);
    assert.is(await host.serving(), 'demo 1.1.0');
    await release(side, host, '1.2.0', appSource(host, '1.2.0'));
    const delta = await updateJson(host);
    assert.equal(delta.transfers.map((t) => [t.how, t.from]), [['delta', '1.1.0']]);
    assert.is(await host.serving(), 'demo 1.2.0');
  } finally {
    await host.cleanup();
  }
});

async function powerCut(daemon: ChildProcess, mountpoint: string): Promise<void> {
  const gone = new Promise((resolve) => daemon.once('exit', resolve));
  daemon.kill('SIGKILL');
  await gone;
  spawnSync('umount', ['-l', mountpoint]);
}

test('a delta is on the disk before it becomes current, also where syncfs does not reach it (FUSE): a power cut after the update loses nothing', async () => {
  const host = await createHostFixture();
  const backing = join(host.dir, 'state-backing');
  let daemon = await mountLazyfs(backing, host.stateDir);
  try {
    assert.equal([syncfsIsDurable(host.stateDir), syncfsIsDurable(host.dir)], [false, true], 'FUSE is told from the disk the test runs on');
    const side = releaseSide(host);
    await release(side, host, '1.0.0', appSource(host, '1.0.0'));
    await updateJson(host);
    const source = appSource(host, '1.1.0');
    await release(side, host, '1.1.0', source);
    const { transfers } = await updateJson(host);
    assert.equal(transfers.map((t) => [t.how, t.from]), [['delta', '1.0.0']]);
    await powerCut(daemon, host.stateDir);
    daemon = await mountLazyfs(backing, host.stateDir);
    const installed = join(host.stateDir, 'versions', '1.1.0');
    // The kept files copied into 1.1.0 and the fetched ones alike.
    for (const path of ['lib/data.bin', 'web/app.js', 'bin/demo', 'web/index.html']) {
      assert.ok(readFileSync(join(installed, path)).equals(readFileSync(join(source, path))), `${path} of 1.1.0 after the power cut`);
    }
  } finally {
    await powerCut(daemon, host.stateDir);
    await host.cleanup();
  }
});

test.run();
