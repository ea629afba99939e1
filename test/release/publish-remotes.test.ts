// test-needs: network
// `tide release publish` to the mirrors people run, through the real CLI: a git remote
// (a bare repository on local disk, read back the way a raw-URL reader would: a checkout
// of the branch) and an S3-compatible bucket (s3rver on 127.0.0.1, read back over plain
// HTTP GETs as a host reads a mirror). Each is checked by `tide release status`, which
// verifies the pointers as a host would.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import S3rver from 's3rver';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort } from '../../scripts/lib/free-port.js';
import { tempDir } from '../helpers/tmp.js';
import { makeKey, makeSignedRelease, type TestKey } from './release-fixtures.js';
import { promoteChannel } from '../../src/release/promote-channel.js';

const test = suite('publish to git and S3');
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const bin = fileURLToPath(new URL('../../src/cli/bin.js', import.meta.url));
const s3Env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };

type Run = { code: number | null; stdout: string; stderr: string };
/** Async: the S3 server answers from this very process, so the event loop must keep running. */
function tide(cwd: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}
function git(args: string[], cwd?: string): string {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
  assert.is(r.status, 0, `git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

interface Tree { dir: string; tree: string; key: TestKey; promote(version: string): Promise<void>; status(mirror: string): Promise<Run> }

async function makeTree(dir: string): Promise<Tree> {
  const tree = join(dir, 'release-tree');
  const key = await makeKey(join(dir, 'keys'), 'a');
  const promote = async (version: string) => {
    if (!existsSync(join(tree, 'releases', version))) await makeSignedRelease(tree, dir, version, key);
    await promoteChannel({ tree, app: 'demo', channel: 'stable', version, signingKeys: [key.signing] });
  };
  await promote('1.0.0');
  return {
    dir, tree, key, promote,
    status: (mirror) => tide(dir, ['release', 'status', '--mirror', mirror, '--key', key.publicPath, '--app', 'demo', '--channel', 'stable']),
  };
}

test('git: one commit per publish, pushed to the branch; a checkout of it is a valid mirror; refusals push nothing', async () => {
  const tmp = tempDir('tide-git-publish-');
  try {
    const t = await makeTree(tmp.path);
    const remote = join(tmp.path, 'mirror.git');
    git(['init', '--quiet', '--bare', remote]);
    const mirror = `git+file://${remote}#pages`;
    // A directory mirror published with it, and then no more: it falls behind.
    const stale = join(tmp.path, 'stale');
    mkdirSync(stale);
    const first = await tide(tmp.path, ['release', 'publish', '--tree', t.tree, mirror, stale]);
    assert.is(first.code, 0, first.stdout + first.stderr);
    // The release's files: bundle, tree.json, manifest and its signature, the pointer and its signature, and the tree's objects.
    const files = git(['--git-dir', remote, 'ls-tree', '-r', '--name-only', 'pages']).trim().split('\n');
    const objects = files.filter((f) => f.startsWith('objects/'));
    assert.ok(objects.length > 0 && objects.every((f) => /^objects\/[0-9a-f]{2}\/[0-9a-f]{64}\.gz$/.test(f)), files.join(', '));
    assert.equal(files.filter((f) => !f.startsWith('objects/')), ['channels/stable.json', 'channels/stable.json.asc', 'releases/1.0.0/demo-1.0.0.tar.gz', 'releases/1.0.0/manifest.json', 'releases/1.0.0/manifest.json.asc', 'releases/1.0.0/tree.json']);
    const fileCount = files.length;
    assert.match(first.stdout, new RegExp(`copied ${fileCount} file\\(s\\), 0 unchanged, pushed commit [0-9a-f]{12}`));
    assert.is(git(['--git-dir', remote, 'show', 'pages:channels/stable.json']), readFileSync(join(t.tree, 'channels', 'stable.json'), 'utf8'));

    // Nothing new: no commit.
    const again = await tide(tmp.path, ['release', 'publish', '--tree', t.tree, mirror]);
    assert.is(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`copied 0 file\\(s\\), ${fileCount} unchanged, nothing to commit`));
    assert.is(git(['--git-dir', remote, 'rev-list', '--count', 'pages']).trim(), '1');

    // The next release: its files and the pointer naming it arrive in one commit, one ref update.
    await t.promote('1.1.0');
    const next = await tide(tmp.path, ['release', 'publish', '--tree', t.tree, mirror]);
    assert.is(next.code, 0, next.stderr);
    const changed = git(['--git-dir', remote, 'show', '--name-only', '--format=', 'pages']).trim().split('\n').sort();
    assert.ok(changed.some((f) => f.startsWith('objects/')), `the changed files' objects: ${changed.join(', ')}`);
    assert.equal(changed.filter((f) => !f.startsWith('objects/')), ['channels/stable.json', 'channels/stable.json.asc', 'releases/1.1.0/demo-1.1.0.tar.gz', 'releases/1.1.0/manifest.json', 'releases/1.1.0/manifest.json.asc', 'releases/1.1.0/tree.json']);

    // What a raw-URL reader sees: the branch's files. Valid for a host.
    const checkout = join(tmp.path, 'checkout');
    git(['clone', '--quiet', '--branch', 'pages', remote, checkout]);
    const status = await t.status(checkout);
    assert.is(status.code, 0, status.stdout + status.stderr);
    assert.match(status.stdout, /stable\s+1\.1\.0\s+2\s+valid/);
    // Per mirror, the lag in sequence and time behind the best pointer.
    const lagging = await tide(tmp.path, ['release', 'status', '--mirror', checkout, '--mirror', stale, '--key', t.key.publicPath, '--app', 'demo', '--channel', 'stable', '--json']);
    assert.is(lagging.code, 1, lagging.stdout + lagging.stderr);
    const rows = JSON.parse(lagging.stdout).rows as { lag: { sequences: number; ms: number } }[];
    assert.equal(rows.map((r) => r.lag.sequences), [0, 1]);
    assert.ok(rows[1]!.lag.ms >= 0);
    const table = await tide(tmp.path, ['release', 'status', '--mirror', checkout, '--mirror', stale, '--key', t.key.publicPath, '--app', 'demo', '--channel', 'stable']);
    assert.match(table.stdout, /behind \(seq 1 < 2\)\s+1 seq, \d+s/);

    // Someone pushed other bytes for a release file: refused before any push, the branch as it was.
    writeFileSync(join(checkout, 'releases', '1.0.0', 'demo-1.0.0.tar.gz'), 'not the release');
    git(['commit', '--quiet', '-am', 'tamper'], checkout);
    git(['push', '--quiet', 'origin', 'pages'], checkout);
    const head = git(['--git-dir', remote, 'rev-parse', 'pages']);
    const refused = await tide(tmp.path, ['release', 'publish', '--tree', t.tree, mirror]);
    assert.is(refused.code, 3, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /tide: hash: the mirror holds different bytes for releases\/1\.0\.0\/demo-1\.0\.0\.tar\.gz; releases are immutable/);
    assert.is(git(['--git-dir', remote, 'rev-parse', 'pages']), head);

    // A remote that is not there: exit 4.
    const missing = await tide(tmp.path, ['release', 'publish', '--tree', t.tree, `git+file://${join(tmp.path, 'nowhere.git')}`]);
    assert.is(missing.code, 4, missing.stdout + missing.stderr);
    assert.match(missing.stderr, /tide: unreachable: git ls-remote failed/);
    const badBranch = await tide(tmp.path, ['release', 'publish', '--tree', t.tree, `git+file://${remote}#a..b`]);
    assert.is(badBranch.code, 2, badBranch.stderr);
  } finally {
    tmp.cleanup();
  }
});

test('S3: artifacts, manifests, then pointers, one object each; the bucket served over HTTP is a valid mirror; refusals upload nothing', async () => {
  const tmp = tempDir('tide-s3-publish-');
  const port = await freePort();
  const server = new S3rver({ port, address: '127.0.0.1', directory: join(tmp.path, 's3'), silent: true, configureBuckets: [{ name: 'mirror', configs: [] }] });
  const created: string[] = [];
  server.on('event', (event: { Records: { eventName: string; s3: { object: { key: string } } }[] }) => {
    for (const record of event.Records) if (record.eventName.startsWith('ObjectCreated')) created.push(decodeURIComponent(record.s3.object.key));
  });
  mkdirSync(join(tmp.path, 's3'));
  await server.run();
  try {
    const t = await makeTree(tmp.path);
    const endpoint = `http://127.0.0.1:${port}`;
    const publish = () => tide(tmp.path, ['release', 'publish', '--tree', t.tree, '--s3-endpoint', endpoint, 's3://mirror/demo'], s3Env);
    const first = await publish();
    assert.is(first.code, 0, first.stdout + first.stderr);
    // Objects and artifacts first, then the manifest (signature before document), the pointer last.
    const uploadedObjects = created.filter((key) => key.startsWith('demo/objects/'));
    assert.ok(uploadedObjects.length > 0, created.join(', '));
    const lastObject = Math.max(...uploadedObjects.map((key) => created.indexOf(key)));
    assert.ok(lastObject < created.indexOf('demo/releases/1.0.0/manifest.json.asc'), created.join(', '));
    assert.equal(created.filter((key) => !key.startsWith('demo/objects/')), [
      'demo/releases/1.0.0/demo-1.0.0.tar.gz', 'demo/releases/1.0.0/tree.json', 'demo/releases/1.0.0/manifest.json.asc', 'demo/releases/1.0.0/manifest.json',
      'demo/channels/stable.json.asc', 'demo/channels/stable.json',
    ]);
    const uploadedCount = created.length;
    const status = await t.status(`${endpoint}/mirror/demo`);
    assert.is(status.code, 0, status.stdout + status.stderr);
    assert.match(status.stdout, /stable\s+1\.0\.0\s+1\s+valid/);

    // Unchanged objects are known by their recorded sha256: nothing goes up again.
    created.length = 0;
    const again = await publish();
    assert.is(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`copied 0 file\\(s\\), ${uploadedCount} unchanged`));
    assert.equal(created, []);

    // The next release: its files first, the pointer last.
    await t.promote('1.1.0');
    const next = await publish();
    assert.is(next.code, 0, next.stderr);
    assert.equal(created.slice(-2), ['demo/channels/stable.json.asc', 'demo/channels/stable.json']);
    assert.ok(created.indexOf('demo/releases/1.1.0/manifest.json') < created.indexOf('demo/channels/stable.json'));

    // Other bytes under a release's name in the bucket: refused, nothing uploaded.
    const client = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    await client.send(new PutObjectCommand({ Bucket: 'mirror', Key: 'demo/releases/1.0.0/manifest.json', Body: 'not a manifest' }));
    client.destroy();
    await t.promote('1.1.0');
    created.length = 0;
    const refused = await publish();
    assert.is(refused.code, 3, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /tide: hash: the mirror holds different bytes for releases\/1\.0\.0\/manifest\.json/);
    assert.equal(created, []);
    const badUrl = await tide(tmp.path, ['release', 'publish', '--tree', t.tree, 's3://Bad_Bucket'], s3Env);
    assert.is(badUrl.code, 2, badUrl.stderr);
  } finally {
    await server.close();
    tmp.cleanup();
  }
});

test.run();
