// The real tide CLI as a child process, timed from spawn to exit.
import { spawn } from 'node:child_process';
import { tideBin } from '../lib/tide-bin.js';
import { asLaunched, launchedEnv } from './launcher.js';

export interface TimedRun {
  code: number | null;
  stderr: string;
  ms: number;
}

export function runTide(configPath: string, args: string[]): Promise<TimedRun> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, asLaunched(tideBin, ['--config', configPath, ...args]), { env: launchedEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => resolve({ code, stderr, ms: performance.now() - started }));
  });
}

export function expectCode(run: TimedRun, code: number, what: string): void {
  if (run.code !== code) throw new Error(`${what}: expected exit ${code}, got ${run.code}: ${run.stderr.trim().split('\n').slice(-3).join(' | ')}`);
}
