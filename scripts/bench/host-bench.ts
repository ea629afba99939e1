// The transaction on a real host (test/helpers/host-fixture: the real tide CLI, a
// real Node service restarted by a real script, nginx in front): how long a version
// that dies at start keeps the front end down, how long a good update does, and what
// a periodic check costs each mirror when nothing changed.
import { spawn } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import { createHostFixture, type HostFixture } from '../../test/helpers/host-fixture.js';
import { outageMs, pollFrontEnd, rollbackLatency } from './front-end-poll.js';
import { benchNoop } from './noop-bench.js';
import { expectCode, runTide } from './run-tide.js';
import { benchStatusStartup } from './startup-bench.js';
import { rollbackFigure, swapFigure, type Figure } from './report.js';

export interface HostBenchOptions {
  rollbackRuns: number;
  swapRuns: number;
  noopRuns: number;
  statusRuns: number;
  /** The [health] table; '' keeps every default (interval 2s, stable 10s, timeout 90s). */
  health: string;
  log: (line: string) => void;
}

/** When tide ran the restart command for `version` (its JSON log says so). */
function restartedAt(stderr: string, version: string): number {
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    const event = JSON.parse(line) as { time: string; event: string; to?: string };
    if (event.event === 'restart' && event.to === version) return Date.parse(event.time);
  }
  throw new Error(`tide's log has no restart of ${version}`);
}


async function benchRollback(host: HostFixture, options: HostBenchOptions, good: string): Promise<Figure> {
  const samples: number[] = [];
  for (let run = 0; run < options.rollbackRuns; run++) {
    const broken = `2.0.${run}-dies-at-start`;
    await host.publish(broken, 'crash');
    const poller = pollFrontEnd(host.nginx.url);
    const update = await runTide(host.configPath, ['--log-format', 'json', 'update']);
    const answers = await poller.stop();
    expectCode(update, 5, `update to ${broken}`);
    samples.push(rollbackLatency(answers, restartedAt(update.stderr, broken), `demo ${good}`));
    options.log(`  rollback ${run + 1}/${options.rollbackRuns}: ${Math.round(samples.at(-1)!)} ms`);
  }
  return rollbackFigure(
    'rollback: restart of a version that dies at start → old version answers through nginx',
    samples,
    'default probe settings: interval 2s, dead-at-start after 3 intervals',
  );
}

/** The service's own restart, run alone (the restart script), seen by the same client. */
async function restartAlone(host: HostFixture, version: string): Promise<number> {
  const poller = pollFrontEnd(host.nginx.url);
  await delay(100);
  const restart = spawn(join(host.dir, 'restart.sh'), { env: { ...process.env, TIDE_VERSION: version }, stdio: 'ignore' });
  await new Promise((resolve) => restart.on('close', resolve));
  for (let i = 0; i < 500 && (await host.serving()) !== `demo ${version}`; i++) await delay(10);
  await delay(100);
  return outageMs(await poller.stop());
}

async function benchSwap(host: HostFixture, options: HostBenchOptions, firstGood: string): Promise<{ figure: Figure; current: string }> {
  const tideSamples: number[] = [];
  const aloneSamples: number[] = [];
  let current = firstGood;
  for (let run = 0; run < options.swapRuns; run++) {
    aloneSamples.push(await restartAlone(host, current));
    const next = `3.0.${run}`;
    await host.publish(next, 'good');
    const poller = pollFrontEnd(host.nginx.url);
    const update = await runTide(host.configPath, ['update']);
    const answers = await poller.stop();
    expectCode(update, 0, `update to ${next}`);
    tideSamples.push(outageMs(answers));
    current = next;
    options.log(`  swap ${run + 1}/${options.swapRuns}: tide ${tideSamples.at(-1)} ms down, restart alone ${aloneSamples.at(-1)} ms`);
  }
  return { current, figure: swapFigure('swap downtime of a good update, client polling every 10 ms', 'the restart script alone', tideSamples, aloneSamples) };
}

export async function benchHost(options: HostBenchOptions): Promise<Figure[]> {
  const host = await createHostFixture({ health: options.health });
  try {
    options.log('host: installing 1.0.0 (the first install waits out the stable window)');
    await host.publish('1.0.0', 'good');
    expectCode(await runTide(host.configPath, ['update']), 0, 'first install');
    options.log(`rollback latency: ${options.rollbackRuns} runs`);
    const rollback = await benchRollback(host, options, '1.0.0');
    options.log(`swap downtime: ${options.swapRuns} runs`);
    const swap = await benchSwap(host, options, '1.0.0');
    options.log(`no-op check: ${options.noopRuns} runs against two http mirrors (nginx)`);
    const noop = await benchNoop(host, options);
    options.log(`tide status start-up: ${options.statusRuns} runs`);
    const status = benchStatusStartup(host.configPath, options.statusRuns);
    return [rollback, swap.figure, ...noop, status];
  } finally {
    await host.cleanup();
  }
}
