// test-needs: nginx, network
// SPEC commands.md#output-streams: with --log-format json every line on stdout and stderr
// is JSON — results, logs, errors (with code and exitCode), help pages — for the
// host commands and the release commands alike.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHostFixture, tideBin } from '../helpers/host-fixture.js';
import { tempDir } from '../helpers/tmp.js';
import { makeSourceTree } from '../release/release-fixtures.js';

const test = suite('json log: every line');

type Line = Record<string, unknown>;

/** Every non-empty line of both streams, parsed; a line that is not JSON fails the test, naming it. */
function jsonLines(run: { stdout: string; stderr: string }, what: string): { out: unknown[]; err: Line[] } {
  const parse = (text: string, stream: string) => text.split('\n').filter((l) => l !== '').map((line) => {
    try {
      return JSON.parse(line) as unknown;
    } catch {
      throw new Error(`${what}: a line on ${stream} is not JSON: ${line}`);
    }
  });
  return { out: parse(run.stdout, 'stdout'), err: parse(run.stderr, 'stderr') as Line[] };
}

test('host commands: update, check, verify, status, history, rollback, and a refusal', async () => {
  const host = await createHostFixture();
  const json = (args: string[]) => host.tide(['--log-format', 'json', ...args]);
  try {
    await host.publish('1.0.0');
    const first = await json(['update']);
    assert.is(first.code, 0, first.stderr);
    const installed = jsonLines(first, 'update').out as Line[];
    assert.equal(installed.map((o) => [o.result, o.from, o.to]), [['committed', null, '1.0.0']]);
    await host.publish('1.1.0');
    const check = await json(['check']);
    assert.is(check.code, 100);
    assert.equal((jsonLines(check, 'check').out as Line[]).map((o) => o.available), [true]);
    assert.is((await json(['update'])).code, 0);
    // A release that fails: the summary line of text mode used to land on stdout here.
    await host.publish('1.2.0', 'crash');
    const failed = await json(['update']);
    assert.is(failed.code, 5, failed.stderr);
    const lines = jsonLines(failed, 'update to a crashing release');
    assert.equal((lines.out as Line[]).map((o) => o.result), ['rolled-back']);
    assert.is(lines.err.at(-1)!.event, 'result');
    // verify with nothing pending, the status, the history, a manual rollback, an update that skips 1.2.0.
    for (const args of [['verify'], ['status'], ['history'], ['rollback'], ['update', '--quiet'], ['recover']]) {
      const run = await json(args);
      assert.is(run.code, 0, `${args.join(' ')}: ${run.stderr}`);
      assert.is(jsonLines(run, args.join(' ')).out.length, 1, `${args.join(' ')} prints its result as one JSON line`);
    }
    const history = jsonLines(await json(['history']), 'history').out[0] as Line[];
    assert.equal(history.map((h) => h.result), ['committed', 'committed', 'rolled-back', 'manual-rollback']);
    // A refusal: nothing on stdout, the error as JSON with its code and exit code.
    await host.publish('1.3.0', 'good', { expires: new Date(Date.now() - 60_000).toISOString() });
    const refused = await json(['check']);
    assert.is(refused.code, 3);
    const error = jsonLines(refused, 'refused check').err.find((l) => l.event === 'error')!;
    assert.equal([error.level, error.code, error.exitCode], ['error', 'expired', 3]);
    assert.type(error.message, 'string');
    assert.is(refused.stdout, '');
  } finally {
    await host.cleanup();
  }
});

function tide(cwd: string, args: string[]) {
  const run = spawnSync(process.execPath, [tideBin, '--log-format', 'json', ...args], {
    cwd, encoding: 'utf8', env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000', TIDE_KEY_PASSPHRASE: '' }, timeout: 60_000,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

test('release commands, help pages and usage errors', () => {
  const tmp = tempDir();
  try {
    const cwd = tmp.path;
    makeSourceTree(join(cwd, 'app'));
    mkdirSync(join(cwd, 'mirror'));
    writeFileSync(join(cwd, 'note.txt'), 'signed\n');
    const key = ['--key', 'keys/r.key.asc'];
    const steps: [string, string[], number][] = [
      ['keygen', ['release', 'keygen', '--name', 'r', '--out', 'keys'], 0],
      ['build', ['release', 'build', '--app', 'demo', '--version', '1.0.0', '--from', 'app', ...key], 0],
      ['sign', ['release', 'sign', ...key, 'note.txt'], 0],
      ['promote', ['release', 'promote', '--app', 'demo', '--channel', 'stable', '--version', '1.0.0', ...key], 0],
      ['revoke', ['release', 'revoke', '--app', 'demo', '--version', '0.9.0', ...key], 0],
      ['publish', ['release', 'publish', 'mirror'], 0],
      ['status', ['release', 'status', '--mirror', 'mirror', '--key', 'keys/r.pub.asc'], 0],
      ['release help', ['release', 'help'], 0],
      ['tide --help', ['--help'], 0],
      ['a usage error', ['release', 'promote', '--app', 'demo'], 2],
      ['an unknown command', ['upgrade'], 2],
    ];
    for (const [what, args, code] of steps) {
      const run = tide(cwd, args);
      assert.is(run.code, code, `${what}: ${run.stderr}`);
      const { out, err } = jsonLines(run, what);
      if (code === 0) assert.ok(out.length > 0, `${what} printed its result`);
      else assert.equal([err[0]?.code, err[0]?.exitCode], ['usage', 2], what);
    }
    // Node's own warnings (a deprecation in a dependency) come as JSON too.
    writeFileSync(join(cwd, 'warn.mjs'), "setTimeout(() => process.emitWarning('something is deprecated', 'DeprecationWarning'), 300);\n");
    const warned = spawnSync(process.execPath, ['--import', join(cwd, 'warn.mjs'), tideBin, '--log-format', 'json', 'release', 'help'], { cwd, encoding: 'utf8' });
    const warning = jsonLines(warned, 'a Node warning').err;
    assert.equal(warning.map((l) => [l.level, l.event, l.message]), [['warn', 'node-warning', 'DeprecationWarning: something is deprecated']]);
    const promoted = jsonLines(tide(cwd, ['release', 'promote', '--app', 'demo', '--channel', 'stable', '--version', '1.0.0', ...key]), 'promote').out;
    assert.equal(((promoted[0] as Line).pointer as Line).sequence, 2);
  } finally {
    tmp.cleanup();
  }
});

test.run();
