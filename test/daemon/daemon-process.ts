// The real `tide daemon` as a child process with --log-format json: its log lines
// parsed as they come, a bounded wait for a line, SIGTERM and the exit.
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { tideBin } from '../helpers/host-fixture.js';
import type { LogEvent } from '../../src/log/logger.js';

/** A parsed --log-format json line: the logger's event plus what it adds. */
export interface LogLine extends LogEvent {
  time: string;
  level: string;
  run?: number;
}

export interface DaemonProcess {
  child: ChildProcess;
  lines: LogLine[];
  /** stderr lines that were not JSON (there should be none). */
  other: string[];
  /** Wait (bounded) for a log line matching `match`; returns it. */
  waitFor(match: (line: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
  /** SIGTERM, then wait (bounded) for the exit. */
  terminate(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL if still running (cleanup). */
  kill(): void;
}

export function startDaemon(configPath: string, env: Record<string, string> = {}): DaemonProcess {
  const child = spawn(process.execPath, [tideBin, '--config', configPath, '--log-format', 'json', 'daemon'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  const other: string[] = [];
  let partial = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    partial += chunk.toString();
    const complete = partial.split('\n');
    partial = complete.pop()!;
    for (const text of complete) {
      if (!text.trim()) continue;
      try {
        lines.push(JSON.parse(text) as LogLine);
      } catch {
        other.push(text);
      }
    }
  });
  child.stdout!.on('data', (chunk: Buffer) => other.push(chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })));

  async function waitFor(match: (line: LogLine) => boolean, what: string, timeoutMs = 30_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const found = lines.find(match);
      if (found) return found;
      if (child.exitCode !== null || child.signalCode !== null) break;
      await delay(50);
    }
    throw new Error(`no log line for ${what} within ${timeoutMs} ms; last lines:\n${lines.slice(-8).map((l) => JSON.stringify(l)).join('\n')}\n${other.join('\n')}`);
  }

  async function terminate(timeoutMs = 30_000) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const result = await exited;
    clearTimeout(timer);
    return result;
  }

  return {
    child, lines, other, waitFor, terminate,
    kill: () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); },
  };
}

/** Run intervals from run-start / run-end lines; throws when one run starts before the last one ended. */
export function runIntervals(lines: readonly LogLine[]): { run: number; start: number; end: number }[] {
  const intervals: { run: number; start: number; end: number }[] = [];
  let open: { run: number; start: number } | undefined;
  for (const line of lines) {
    if (line.event === 'run-start') {
      if (open) throw new Error(`run ${line.run} started while run ${open.run} was still under way`);
      open = { run: line.run!, start: Date.parse(line.time) };
    } else if (line.event === 'run-end') {
      if (!open || open.run !== line.run) throw new Error(`run ${line.run} ended but it is not the run under way (${open?.run})`);
      intervals.push({ ...open, end: Date.parse(line.time) });
      open = undefined;
    }
  }
  return intervals;
}
