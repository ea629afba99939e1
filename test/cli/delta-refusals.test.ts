// test-needs: nginx, network
// SPEC formats.md#the-tree-artifact, attacked end to end with the real binary: a release whose
// tree.json contradicts its bundle or the bundle rules is refused (exit 3, one line, the
// running version untouched); a tree.json over its cap is not fetched at all (the bundle is
// used); a tampered object makes the host fall back to the bundle.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { serviceSource, writeAppTree } from '../../scripts/lib/service-app.js';
import { objectPath } from '../../src/bundle/tree-document.js';
import { createHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { keyArgs, releaseSide } from './release-side.js';

const test = suite('delta refusals');
const sha256 = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');

/** The tree.json of the publisher's GNU tar bundle of `version`, with `change` applied to its entries. */
function treeJson(version: string, change: (entries: Record<string, unknown>[]) => Record<string, unknown>[] = (e) => e): Buffer {
  const demo = serviceSource(version, 'good');
  const index = `<h1>demo ${version}</h1>\n`;
  const entries = [
    { path: 'bin', type: 'dir', mode: '0755' },
    { path: 'bin/demo', type: 'file', mode: '0755', size: Buffer.byteLength(demo), sha256: sha256(demo) },
    { path: 'web', type: 'dir', mode: '0755' },
    { path: 'web/index.html', type: 'file', mode: '0644', size: Buffer.byteLength(index), sha256: sha256(index) },
  ];
  return Buffer.from(JSON.stringify({ schema: 1, app: 'demo', version, entries: change(entries) }));
}

async function publishWithTree(host: HostFixture, version: string, tree: Buffer, size = tree.length): Promise<void> {
  mkdirSync(join(host.mirrorDir, 'releases', version), { recursive: true });
  writeFileSync(join(host.mirrorDir, 'releases', version, 'tree.json'), tree);
  await host.publish(version, 'good', { extraArtifacts: [{ type: 'tree', path: 'tree.json', size, sha256: sha256(tree) }] });
}

function oneRefusalLine(stderr: string): string {
  const lines = stderr.trim().split('\n').filter((l) => /^tide: [a-z-]+: /.test(l) && !/^tide: (warn|info):/.test(l));
  assert.is(lines.length, 1, stderr);
  return lines[0]!;
}

test('the control: a tree that agrees with its bundle installs, and is kept', async () => {
  const host = await createHostFixture();
  try {
    await publishWithTree(host, '1.0.0', treeJson('1.0.0'));
    const run = await host.tide(['update']);
    assert.is(run.code, 0, run.stderr);
    assert.ok(readFileSync(join(host.stateDir, 'artifacts', '1.0.0', 'tree.json')).equals(treeJson('1.0.0')));
  } finally {
    await host.cleanup();
  }
});

test('refuses a release whose tree.json disagrees with its bundle (exit 3); the running version stays', async () => {
  const host = await createHostFixture();
  try {
    await host.publish('1.0.0');
    assert.is((await host.tide(['update'])).code, 0);
    await publishWithTree(host, '1.1.0', treeJson('1.1.0', (e) => [...e, { path: 'web/extra.js', type: 'file', mode: '0644', size: 3, sha256: sha256('x;\n') }]));
    const run = await host.tide(['update']);
    assert.is(run.code, 3, run.stdout + run.stderr);
    assert.match(oneRefusalLine(run.stderr), /^tide: bundle-policy: tree\.json disagrees with the bundle: expected web\/extra\.js to be file 644 3 as tree\.json says, found nothing .*file releases\/1\.1\.0\/demo-1\.1\.0\.tar\.gz, entry "web\/extra\.js"/);
    assert.is(await host.serving(), 'demo 1.0.0');
  } finally {
    await host.cleanup();
  }
});

test('refuses a release whose tree.json breaks the bundle rules (a 0700 directory), before any bundle byte (exit 3)', async () => {
  const host = await createHostFixture({ serve: 'http' });
  try {
    await host.publish('1.0.0');
    assert.is((await host.tide(['update'])).code, 0);
    await publishWithTree(host, '1.1.0', treeJson('1.1.0', (e) => e.map((x) => (x.path === 'web' ? { ...x, mode: '0700' } : x))));
    const run = await host.tide(['update']);
    assert.is(run.code, 3, run.stdout + run.stderr);
    assert.match(oneRefusalLine(run.stderr), /^tide: bundle-policy: expected directory mode 0755, found 0700 .*file releases\/1\.1\.0\/tree\.json, entry "web"/);
    assert.not.ok(host.mirrorServer!.requests.includes('releases/1.1.0/demo-1.1.0.tar.gz'), 'the bundle was not fetched');
    assert.is(await host.serving(), 'demo 1.0.0');
  } finally {
    await host.cleanup();
  }
});

test('a tree.json the manifest says is over 16 MiB is not fetched: the release installs from its bundle', async () => {
  const host = await createHostFixture({ serve: 'http' });
  try {
    await publishWithTree(host, '1.0.0', treeJson('1.0.0'), 16 * 1024 * 1024 + 1);
    const run = await host.tide(['update', '--json']);
    assert.is(run.code, 0, run.stderr);
    assert.match(run.stderr, /warn: refusing releases\/1\.0\.0\/tree\.json: the manifest says 16777217 bytes, over the 16777216-byte cap of tree\.json; installing from the bundle/);
    assert.not.ok(host.mirrorServer!.requests.includes('releases/1.0.0/tree.json'), 'not a byte of it was asked for');
    assert.equal((JSON.parse(run.stdout) as { transfers: { type: string; how: string }[] }).transfers.map((t) => [t.type, t.how]), [['bundle', 'full']]);
  } finally {
    await host.cleanup();
  }
});

test('a tampered object on the only mirror: the delta is refused and the bundle installs the same tree', async () => {
  const host = await createHostFixture();
  try {
    const side = releaseSide(host);
    const key = keyArgs([side.keyFiles(host.key, 'release')]);
    const big = randomBytes(512 * 1024);
    for (const version of ['1.0.0', '1.1.0']) {
      const source = join(host.dir, 'sources', version);
      writeAppTree(source, version, 'good');
      writeFileSync(join(source, 'web', 'app.js'), big);
      chmodSync(join(source, 'web', 'app.js'), 0o644);
      await side.ok('build', '--tree', side.tree, '--app', 'demo', '--version', version, '--from', source, ...key);
      await side.ok('promote', '--tree', side.tree, '--app', 'demo', '--channel', 'stable', '--version', version, ...key);
      await side.publish();
      if (version === '1.0.0') assert.is((await host.tide(['update'])).code, 0);
    }
    const demo = serviceSource('1.1.0', 'good');
    writeFileSync(join(host.mirrorDir, objectPath(sha256(demo))), gzipSync(Buffer.from(demo.replace('1.1.0', '6.6.6'))));
    const run = await host.tide(['update', '--json']);
    assert.is(run.code, 0, run.stderr);
    assert.match(run.stderr, /warn: mirror file:\/\/\S+ failed for objects\/[0-9a-f]{2}\/[0-9a-f]{64}\.gz: expected the object to hold the bytes its name says/);
    assert.match(run.stderr, /warn: staging 1\.1\.0 from its tree failed \(hash: .*\); installing from the bundle/);
    assert.equal((JSON.parse(run.stdout) as { transfers: { type: string; how: string }[] }).transfers.map((t) => [t.type, t.how]), [['bundle', 'full']]);
    assert.is(await host.serving(), 'demo 1.1.0');
  } finally {
    await host.cleanup();
  }
});

test.run();
