// test-needs: nginx, network
// SPEC commands.md#output-streams: a reader that goes away (`tide … | head -1`)
// ends nothing but the output: no EPIPE stack trace, the command finishes its work
// and exits with its own code. Real pipes, closed before tide writes to them.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createHostFixture, tideBin } from '../helpers/host-fixture.js';
import { tempDir } from '../helpers/tmp.js';
import { makeSourceTree } from '../release/release-fixtures.js';

const test = suite('closed output');

interface ClosedRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** What arrived on the stream left open. */
  open: string;
}

/** tide with stdout (or stderr) a pipe whose reading end is closed before tide starts. */
function withClosed(stream: 'stdout' | 'stderr', args: string[], cwd: string, env: Record<string, string> = {}): Promise<ClosedRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [tideBin, ...args], { cwd, env: { ...process.env, TIDE_KEY_PASSPHRASE: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child[stream].destroy();
    let open = '';
    (stream === 'stdout' ? child.stderr : child.stdout).on('data', (d) => (open += d));
    child.on('close', (code, signal) => resolve({ code, signal, open }));
  });
}

/** A release tree with a built, signed 1.0.0 and a key to promote it with. */
function releaseTree(cwd: string): void {
  makeSourceTree(join(cwd, 'app'));
  const run = (args: string[]) => assert.is(spawnSync(process.execPath, [tideBin, 'release', ...args], { cwd, encoding: 'utf8' }).status, 0, args[0]);
  run(['keygen', '--name', 'r', '--out', 'keys']);
  run(['build', '--app', 'demo', '--version', '1.0.0', '--from', 'app', '--key', 'keys/r.key.asc']);
}

const promote = ['release', 'promote', '--app', 'demo', '--channel', 'stable', '--version', '1.0.0', '--key', 'keys/r.key.asc'];

test('`tide release promote … | true` (a shell pipe closed early): exit 0, no stack trace, the pointer written', () => {
  const tmp = tempDir();
  try {
    releaseTree(tmp.path);
    const quoted = [process.execPath, tideBin, ...promote].map((a) => `'${a}'`).join(' ');
    const shell = spawnSync('bash', ['-c', `${quoted} 2>stderr.txt | true; echo "tide exited $\{PIPESTATUS[0]}"`], { cwd: tmp.path, encoding: 'utf8' });
    assert.is(shell.stdout, 'tide exited 0\n');
    assert.is(readFileSync(join(tmp.path, 'stderr.txt'), 'utf8'), '');
    assert.is(JSON.parse(readFileSync(join(tmp.path, 'release-tree', 'channels', 'stable.json'), 'utf8')).version, '1.0.0');
  } finally {
    tmp.cleanup();
  }
});

test('a closed stdout or stderr, for release commands, help pages and errors: quiet, with the command\'s own exit code', async () => {
  const tmp = tempDir();
  try {
    releaseTree(tmp.path);
    const cases: [string, 'stdout' | 'stderr', string[], number][] = [
      ['promote', 'stdout', promote, 0],
      ['promote --json', 'stdout', [...promote, '--json'], 0],
      ['release help', 'stdout', ['release', 'help'], 0],
      ['tide --help', 'stdout', ['--help'], 0],
      ['a usage error', 'stderr', ['release', 'promote'], 2],
      ['a config that is not there', 'stderr', ['--config', 'absent.toml', 'status'], 2],
      ['a config error in JSON mode', 'stderr', ['--log-format', 'json', '--config', 'absent.toml', 'check'], 2],
    ];
    for (const [what, stream, args, code] of cases) {
      const run = await withClosed(stream, args, tmp.path);
      assert.is(run.signal, null, what);
      assert.is(run.code, code, `${what}: ${run.open}`);
      assert.not.match(run.open, /EPIPE|at .*\(node:/, what);
    }
  } finally {
    tmp.cleanup();
  }
});

test('a host command whose stdout and stderr both close early still finishes its transaction', async () => {
  const host = await createHostFixture();
  try {
    await host.publish('1.0.0');
    const env = { TIDE_CONFIG: host.configPath };
    const update = await new Promise<{ code: number | null }>((resolve) => {
      const child = spawn(process.execPath, [tideBin, '--verbose', 'update'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy();
      child.stderr.destroy();
      child.on('close', (code) => resolve({ code }));
    });
    assert.is(update.code, 0);
    assert.is(readlinkSync(join(host.stateDir, 'current')), 'versions/1.0.0');
    assert.not.ok(existsSync(join(host.stateDir, 'pending.json')));
    assert.is(await host.serving(), 'demo 1.0.0');
    for (const args of [['status'], ['history'], ['--log-format', 'json', 'status']]) {
      const run = await withClosed('stdout', args, host.dir, env);
      assert.equal([run.code, run.open], [0, ''], args.join(' '));
    }
  } finally {
    await host.cleanup();
  }
});

test.run();
