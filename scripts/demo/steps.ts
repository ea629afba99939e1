// The demo's plumbing: run the real tide CLI as an operator would, one line per step.
import { spawn } from 'node:child_process';
import { tideBin } from '../lib/tide-bin.js';

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

let stepNumber = 0;

export function step(title: string): void {
  stepNumber += 1;
  process.stdout.write(`\n\x1b[1m== ${stepNumber}. ${title}\x1b[0m\n`);
}

export function say(line: string): void {
  process.stdout.write(`   ${line}\n`);
}

/** Run `tide ARGS`, showing the command and what it printed, indented. */
export function tide(args: string[], env: Record<string, string> = {}): Promise<Ran> {
  process.stdout.write(`   $ tide ${args.join(' ')}\n`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [tideBin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const show = (chunk: Buffer) => process.stdout.write(chunk.toString().replace(/^(?=.)/gm, '     '));
    child.stdout.on('data', (d: Buffer) => { stdout += d; show(d); });
    child.stderr.on('data', (d: Buffer) => { stderr += d; show(d); });
    child.on('close', (code) => {
      process.stdout.write(`     (exit ${code})\n`);
      resolve({ code, stdout, stderr });
    });
  });
}

export class StoryBroken extends Error {}

/** The demo exits 0 only when the story went exactly as told. */
export function expect(what: string, ok: boolean): void {
  if (!ok) throw new StoryBroken(what);
  say(`\x1b[32m✓\x1b[0m ${what}`);
}
