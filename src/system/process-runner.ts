// Runs argv without a shell, behind a narrow interface so tests can pass a fake.
// Output goes to unlinked temp files, not pipes: a restart command may leave a daemon
// behind (`nohup ./svc &`) that inherits stdout. With a pipe we would either wait for
// that daemon forever, or close the pipe under it and kill it with SIGPIPE later.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TideError } from '../errors.js';
import { limits } from '../limits.js';
import { formatDuration } from '../config/units.js';

export interface RunOptions {
  /** Variables added to (and overriding) tide's own environment. */
  env?: Record<string, string>;
  /** Past this, SIGTERM, then SIGKILL after limits.processKillGraceMs. */
  timeoutMs?: number;
  cwd?: string;
  /** Keep at most this much of stdout and of stderr: the tail, where errors are. */
  maxOutputBytes?: number;
}

export interface RunResult {
  /** Exit code; null when killed by a signal. 127/126 when the command could not start. */
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Why the command could not be started (ENOENT, EACCES, …), when it could not. */
  spawnError?: string;
  /** Some output was dropped to stay under maxOutputBytes. */
  truncated?: boolean;
}

export interface ProcessRunner {
  run(argv: string[], opts?: RunOptions): Promise<RunResult>;
}

export function createProcessRunner(): ProcessRunner {
  return { run: runProcess };
}

type Exit = Pick<RunResult, 'code' | 'signal' | 'timedOut' | 'spawnError'>;

export async function runProcess(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  const [command, ...args] = argv;
  if (command === undefined) throw new TideError('internal', 'asked to run an empty argv');
  const dir = await mkdtemp(join(tmpdir(), 'tide-run-'));
  let out: FileHandle | undefined;
  let err: FileHandle | undefined;
  try {
    out = await open(join(dir, 'stdout'), 'w+');
    err = await open(join(dir, 'stderr'), 'w+');
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', out.fd, err.fd],
    });
    const exited = waitForExit(child, opts.timeoutMs);
    // The child holds its own descriptors now; nothing needs to stay on disk.
    await rm(dir, { recursive: true, force: true });
    const exit = await exited;
    const max = opts.maxOutputBytes ?? limits.processOutputBytes;
    const [stdout, stderr] = await Promise.all([readTail(out, max), readTail(err, max)]);
    const result: RunResult = { ...exit, stdout: stdout.text, stderr: stderr.text };
    if (exit.spawnError) result.stderr += `cannot run ${command}: ${exit.spawnError}\n`;
    if (stdout.truncated || stderr.truncated) result.truncated = true;
    return result;
  } finally {
    await Promise.all([out?.close(), err?.close()]);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Resolves on the direct child's exit; grandchildren holding the output files do not matter. */
function waitForExit(child: ChildProcess, timeoutMs: number | undefined): Promise<Exit> {
  return new Promise((resolve) => {
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const deadline =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGTERM');
            killTimer = setTimeout(() => child.kill('SIGKILL'), limits.processKillGraceMs);
          }, timeoutMs);
    const finish = (exit: Omit<Exit, 'timedOut'>): void => {
      clearTimeout(deadline);
      clearTimeout(killTimer);
      resolve({ ...exit, timedOut });
    };
    child.once('exit', (code, signal) => finish({ code, signal }));
    child.on('error', (error: NodeJS.ErrnoException) => {
      // 'error' after a successful spawn means a failed kill(); the exit still comes.
      if (child.pid !== undefined) return;
      const code = error.code === 'ENOENT' ? 127 : 126;
      finish({ code, signal: null, spawnError: error.code ?? error.message });
    });
  });
}

async function readTail(file: FileHandle, max: number): Promise<{ text: string; truncated: boolean }> {
  const { size } = await file.stat();
  const start = Math.max(0, size - max);
  const buffer = Buffer.alloc(size - start);
  const { bytesRead } = await file.read(buffer, 0, buffer.length, start);
  return { text: buffer.subarray(0, bytesRead).toString('utf8'), truncated: start > 0 };
}

/** One line on how a command ended, for reasons and logs: "exited 1: no such file". */
export function describeExit(result: RunResult, timeoutMs?: number): string {
  if (result.spawnError) return `could not start: ${result.spawnError}`;
  if (result.timedOut) return `timed out after ${timeoutMs === undefined ? 'its limit' : formatDuration(timeoutMs)}`;
  const said = lastLine(result.stderr) || lastLine(result.stdout);
  const how = result.signal ? `was killed by ${result.signal}` : `exited ${result.code}`;
  return said ? `${how}: ${said}` : how;
}

/** The last non-empty line, cut to a length that fits in one log line. */
export function lastLine(text: string): string {
  const lines = text.split('\n').map((line) => line.trim()).filter(Boolean);
  const line = lines[lines.length - 1] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
