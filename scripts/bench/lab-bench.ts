// The transaction through the real units (BENCH_ONLY=lab): a host-lab machine
// (Debian 12, systemd as PID 1 in systemd-nspawn, docs/host-lab.md), tide installed by
// scripts/install.sh, the demo app as demo.service (Restart=on-failure) behind nginx,
// each update run as `systemctl start tide-update.service`. The same two figures as
// the shell-run host bench, so the two can be read side by side: how long a version
// that dies at start keeps the API down, and how long a good update does, against
// `systemctl restart demo.service` alone seen by the same client.
import { setTimeout as delay } from 'node:timers/promises';
import { createDemoHost, type DemoHost } from '../../test/hostlab/demo-host.js';
import { outageMs, pollFrontEnd, rollbackLatency } from './front-end-poll.js';
import { rollbackFigure, swapFigure, type Figure } from './report.js';

export interface LabBenchOptions {
  rollbackRuns: number;
  swapRuns: number;
  /** The [health] table; '' keeps every default (interval 2s, stable 10s, timeout 90s). */
  health: string;
  log: (line: string) => void;
}

/** When tide ran the restart for `version`, from tide-update.service's journal (tide's JSON lines). */
async function restartedAt(host: DemoHost, version: string): Promise<number> {
  const line = (await host.journal('tide-update.service')).find((l) => l.event === 'restart' && l.to === version && typeof l.time === 'string');
  if (!line) throw new Error(`tide-update.service's journal has no restart of ${version}`);
  return Date.parse(line.time as string);
}


async function updateThroughUnit(host: DemoHost, expected: number, what: string): Promise<void> {
  const run = await host.startUnit('tide-update.service');
  if (run.exitStatus !== expected) throw new Error(`${what}: tide-update.service exited ${run.exitStatus}, expected ${expected}`);
}

async function benchRollback(host: DemoHost, o: LabBenchOptions, api: string, good: string): Promise<Figure> {
  const samples: number[] = [];
  for (let run = 0; run < o.rollbackRuns; run++) {
    const broken = `2.0.${run}-dies-at-start`;
    await host.publish(broken, 'crash');
    const poller = pollFrontEnd(api);
    await updateThroughUnit(host, 5, `update to ${broken}`);
    const answers = await poller.stop();
    samples.push(rollbackLatency(answers, await restartedAt(host, broken), `demo ${good}`));
    o.log(`  lab rollback ${run + 1}/${o.rollbackRuns}: ${Math.round(samples.at(-1)!)} ms`);
  }
  return rollbackFigure(
    'lab: rollback through tide-update.service, demo.service Restart=on-failure dies at start → old version answers',
    samples,
    'systemd-nspawn machine; the unit probe sees the crash loop, reset-failed lets the old version start',
  );
}

async function restartAlone(host: DemoHost, api: string, version: string): Promise<number> {
  const poller = pollFrontEnd(api);
  await delay(100);
  await host.machine.run(['systemctl', 'restart', 'demo.service']);
  for (let i = 0; i < 500 && (await host.serving()).api !== `demo ${version}`; i++) await delay(10);
  await delay(100);
  return outageMs(await poller.stop());
}

async function benchSwap(host: DemoHost, o: LabBenchOptions, api: string, firstGood: string): Promise<Figure> {
  const tideSamples: number[] = [];
  const aloneSamples: number[] = [];
  let current = firstGood;
  for (let run = 0; run < o.swapRuns; run++) {
    aloneSamples.push(await restartAlone(host, api, current));
    const next = `3.0.${run}`;
    await host.publish(next, 'good');
    const poller = pollFrontEnd(api);
    await updateThroughUnit(host, 0, `update to ${next}`);
    tideSamples.push(outageMs(await poller.stop()));
    current = next;
    o.log(`  lab swap ${run + 1}/${o.swapRuns}: tide ${tideSamples.at(-1)} ms down, systemctl restart alone ${aloneSamples.at(-1)} ms`);
  }
  return swapFigure('lab: swap downtime of a good update through tide-update.service, client polling every 10 ms', 'systemctl restart demo.service alone', tideSamples, aloneSamples);
}

export async function benchLab(o: LabBenchOptions): Promise<Figure[]> {
  const host = await createDemoHost({ name: 'bench', health: o.health });
  const api = `http://127.0.0.1:${host.webPort}/api/`;
  try {
    o.log('lab: first install of 1.0.0 through tide-update.service');
    await host.publish('1.0.0', 'good');
    await updateThroughUnit(host, 0, 'first install');
    o.log(`lab rollback latency: ${o.rollbackRuns} runs`);
    const rollback = await benchRollback(host, o, api, '1.0.0');
    o.log(`lab swap downtime: ${o.swapRuns} runs`);
    const swap = await benchSwap(host, o, api, '1.0.0');
    return [rollback, swap];
  } finally {
    await host.cleanup();
  }
}
