import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createProcessRunner, describeExit } from '../../src/system/process-runner.js';
import { tempDir } from '../helpers/tmp.js';

const runner = createProcessRunner();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('reports exit codes and captures stdout and stderr', async () => {
  const ok = await runner.run(['sh', '-c', 'echo out; echo err >&2']);
  assert.is(ok.code, 0);
  assert.is(ok.signal, null);
  assert.is(ok.timedOut, false);
  assert.is(ok.stdout, 'out\n');
  assert.is(ok.stderr, 'err\n');
  const failed = await runner.run(['sh', '-c', 'echo nope >&2; exit 3']);
  assert.is(failed.code, 3);
  assert.is(describeExit(failed), 'exited 3: nope');
});

test('runs argv without a shell', async () => {
  const result = await runner.run(['echo', '$HOME; rm -rf /', '*']);
  assert.is(result.stdout, '$HOME; rm -rf / *\n');
});

test('passes extra environment over its own and honours cwd', async () => {
  const dir = tempDir();
  try {
    const result = await runner.run(['sh', '-c', 'echo "$TIDE_TO $PATH"; pwd'], { env: { TIDE_TO: '1.2.0' }, cwd: dir.path });
    const [line, cwd] = result.stdout.trim().split('\n');
    assert.ok(line!.startsWith('1.2.0 '), line);
    assert.ok(line!.length > '1.2.0 '.length, 'PATH is inherited');
    assert.is(cwd, dir.path);
  } finally {
    dir.cleanup();
  }
});

test('a missing command exits 127 with the reason', async () => {
  const result = await runner.run(['/nonexistent/tide-no-such-command', 'x']);
  assert.is(result.code, 127);
  assert.is(result.spawnError, 'ENOENT');
  assert.match(result.stderr, /cannot run \/nonexistent\/tide-no-such-command: ENOENT/);
  assert.is(describeExit(result), 'could not start: ENOENT');
});

test('a timeout kills the command with SIGTERM', async () => {
  const started = Date.now();
  const result = await runner.run(['sleep', '30'], { timeoutMs: 200 });
  assert.ok(Date.now() - started < 2_000, `took ${Date.now() - started}ms`);
  assert.is(result.timedOut, true);
  assert.is(result.code, null);
  assert.is(result.signal, 'SIGTERM');
  assert.is(describeExit(result, 200), 'timed out after 200ms');
});

test('a command that ignores SIGTERM is killed with SIGKILL', async () => {
  const started = Date.now();
  const result = await runner.run(['sh', '-c', 'trap "" TERM; exec sleep 30'], { timeoutMs: 200 });
  const took = Date.now() - started;
  assert.is(result.timedOut, true);
  assert.is(result.signal, 'SIGKILL');
  assert.ok(took >= 2_000 && took < 6_000, `took ${took}ms`);
});

test('returns promptly when the command leaves a daemon holding stdout, and the daemon lives on', async () => {
  const started = Date.now();
  const result = await runner.run(['sh', '-c', 'sleep 30 & echo $!; echo started'], { timeoutMs: 10_000 });
  const took = Date.now() - started;
  const daemon = Number(result.stdout.split('\n')[0]);
  try {
    assert.ok(took < 2_000, `took ${took}ms`);
    assert.is(result.code, 0);
    assert.is(result.timedOut, false);
    assert.match(result.stdout, /started/);
    assert.ok(daemon > 0 && isAlive(daemon), 'the backgrounded daemon still runs');
  } finally {
    if (daemon > 0) process.kill(daemon, 'SIGKILL');
  }
});

test('keeps only the tail of a large output', async () => {
  const result = await runner.run(['sh', '-c', 'yes abc | head -c 100000; echo; echo last-line'], { maxOutputBytes: 1000 });
  assert.is(result.code, 0);
  assert.is(result.stdout.length, 1000);
  assert.is(result.truncated, true);
  assert.ok(result.stdout.endsWith('last-line\n'));
});

test('describes a command killed by a signal', async () => {
  const result = await runner.run(['sh', '-c', 'kill -9 $$']);
  assert.is(result.signal, 'SIGKILL');
  assert.is(describeExit(result), 'was killed by SIGKILL');
});

test.run();
