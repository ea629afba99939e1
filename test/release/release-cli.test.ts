// `tide release …` as a user runs it: real processes, real files, exit codes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tempDir } from '../helpers/tmp.js';
import { makeSourceTree } from './release-fixtures.js';

const bin = fileURLToPath(new URL('../../src/cli/bin.js', import.meta.url));

function tide(cwd: string, ...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [bin, ...args], {
    cwd, encoding: 'utf8', env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000', TIDE_KEY_PASSPHRASE: '' }, timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('keygen, build, promote, revoke, publish and status work end to end', async () => {
  const tmp = tempDir();
  try {
    const cwd = tmp.path;
    makeSourceTree(join(cwd, 'app'));
    const keygen = tide(cwd, 'release', 'keygen', '--name', 'Demo Release', '--out', 'keys');
    assert.is(keygen.code, 0, keygen.stderr);
    assert.match(keygen.stdout, /^fingerprint [0-9a-f]{40}$/m);
    assert.is(statSync(join(cwd, 'keys', 'demo-release.key.asc')).mode & 0o777, 0o600);
    const key = ['--key', 'keys/demo-release.key.asc'];
    const build = tide(cwd, 'release', 'build', '--app', 'demo', '--version', '1.0.0', '--from', 'app', ...key);
    assert.is(build.code, 0, build.stderr);
    assert.match(build.stdout, /built .*release-tree\/releases\/1\.0\.0/);
    assert.equal(readdirSync(join(cwd, 'release-tree', 'releases', '1.0.0')).sort(), ['demo-1.0.0.tar.gz', 'manifest.json', 'manifest.json.asc', 'tree.json']);
    const promote = tide(cwd, 'release', 'promote', '--app', 'demo', '--channel', 'stable', '--version', '1.0.0', ...key, '--rollout', '50%', '--expires', '10d', '--json');
    assert.is(promote.code, 0, promote.stderr);
    const pointer = JSON.parse(promote.stdout).pointer;
    assert.equal([pointer.sequence, pointer.rollout], [1, { percent: 50 }]);
    assert.is(Date.parse(pointer.expires) - Date.parse(pointer.published), 10 * 86_400_000);
    assert.is(tide(cwd, 'release', 'revoke', '--app', 'demo', '--version', '0.9.0', ...key).code, 0);
    mkdirSync(join(cwd, 'mirror-a'));
    mkdirSync(join(cwd, 'mirror-b'));
    const publish = tide(cwd, 'release', 'publish', 'mirror-a', pathToFileURL(join(cwd, 'mirror-b')).href, '--json');
    assert.is(publish.code, 0, publish.stderr);
    assert.equal(JSON.parse(publish.stdout).map((m: { copied: unknown[] }) => m.copied.length), [10, 10], '7 files, tree.json and 2 objects');
    const statusArgs = ['release', 'status', '--mirror', 'mirror-a', '--mirror', 'mirror-b', '--key', 'keys/demo-release.pub.asc', '--json'];
    const inSync = tide(cwd, ...statusArgs);
    assert.is(inSync.code, 0, inSync.stdout + inSync.stderr);
    const report = JSON.parse(inSync.stdout);
    assert.is(report.allInSync, true);
    assert.equal(report.rows.map((r: { channel: string; sequence: number; valid: boolean }) => [r.channel, r.sequence, r.valid]), [['stable', 1, true], ['stable', 1, true]]);
    // A second promotion reaches only mirror a: out of sync, exit 1.
    assert.is(tide(cwd, 'release', 'promote', '--app', 'demo', '--channel', 'stable', '--version', '1.0.0', ...key).code, 0);
    assert.is(tide(cwd, 'release', 'publish', 'mirror-a').code, 0);
    const behind = tide(cwd, ...statusArgs);
    assert.is(behind.code, 1);
    assert.is(JSON.parse(behind.stdout).allInSync, false);
    const table = tide(cwd, ...statusArgs.slice(0, -1));
    assert.match(table.stdout, /behind \(seq 1 < 2\)/);
  } finally {
    tmp.cleanup();
  }
});

test('sign writes FILE.asc for each file', async () => {
  const tmp = tempDir();
  try {
    assert.is(tide(tmp.path, 'release', 'keygen', '--name', 'k', '--private', 'k.sec', '--public', 'k.pub').code, 0);
    writeFileSync(join(tmp.path, 'a.json'), '{}');
    writeFileSync(join(tmp.path, 'b.json'), '[]');
    const signed = tide(tmp.path, 'release', 'sign', '--key', 'k.sec', 'a.json', 'b.json');
    assert.is(signed.code, 0, signed.stderr);
    assert.equal(readdirSync(tmp.path).filter((n) => n.endsWith('.asc')).sort(), ['a.json.asc', 'b.json.asc']);
  } finally {
    tmp.cleanup();
  }
});

test('usage errors exit 2 with one line naming the problem', async () => {
  const tmp = tempDir();
  try {
    const cwd = tmp.path;
    const cases: [string[], RegExp][] = [
      [['release'], /usage: tide release/],
      [['release', 'bogus'], /unknown release subcommand "bogus"/],
      [['release', 'build', '--app', 'demo', '--version', '1.0', '--from', '.'], /semantic version/],
      [['release', 'build', '--app', 'demo', '--version', '1.0.0'], /--from is required/],
      [['release', 'promote', '--app', 'demo', '--channel', 'stable', '--version', '1.0.0'], /--key PRIVATE\.asc is required/],
      [['release', 'promote', '--app', 'demo', '--channel', 'stable', '--version', '1.0.0', '--key', 'k', '--expires', 'soon'], /--expires must be a duration/],
      [['release', 'sign', '--kee', 'x'], /release sign: Unknown option '--kee'/],
      [['release', 'status', '--key', 'k.pub'], /at least one --mirror/],
      [['release', 'keygen', '--name', 'x', '--private', 'p', '--public', 'p'], /two different files/],
    ];
    for (const [args, message] of cases) {
      const run = tide(cwd, ...args);
      assert.is(run.code, 2, `${args.join(' ')}: ${run.stdout}${run.stderr}`);
      assert.match(run.stdout + run.stderr, message);
    }
    const help = tide(cwd, 'release', 'help');
    assert.is(help.code, 0);
    for (const sub of ['keygen', 'build', 'sign', 'promote', 'revoke', 'publish', 'status']) assert.match(help.stdout, new RegExp(`^  ${sub} `, 'm'));
  } finally {
    tmp.cleanup();
  }
});

test.run();
