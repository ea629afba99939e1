// `tide status` start-up against `node -e 0`, alternating run by run: what an
// operator waits for, and what importing the CLI costs on top of Node itself.
import { spawnSync } from 'node:child_process';
import { tideBin } from '../lib/tide-bin.js';
import { asLaunched, launchedEnv } from './launcher.js';
import { ratioOf, summarize, type Figure } from './report.js';

function timed(args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const started = performance.now();
  const run = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - started;
  if (run.status !== 0) throw new Error(`${args.join(' ')} failed: ${run.stderr.toString().trim()}`);
  return ms;
}

export function benchStatusStartup(configPath: string, runs: number): Figure {
  const status: number[] = [];
  const node: number[] = [];
  for (let run = 0; run < runs; run++) {
    node.push(timed(['-e', '0']));
    status.push(timed(asLaunched(tideBin, ['--config', configPath, 'status']), launchedEnv()));
  }
  const tide = summarize(status);
  const baseline = summarize(node);
  const ratio = ratioOf(tide, baseline);
  return { name: '`tide status` start-up', unit: 'ms', tide, baseline: { label: 'node -e 0', ...baseline }, ratio, target: '≤ 2×', met: ratio <= 2 };
}
