// `npm run bench`: tide's numbers next to what a user would script instead, all
// measured in the same run on this machine (absolute times drift between runs and
// machines; the ratios are what to compare). Prints a table and writes
// bench-results/bench-<date>.json and .md.
//   BENCH_QUICK=1      fewer runs, smaller bundles: a smoke run under a minute
//   BENCH_ONLY=stage   only the staging and RSS figures (or: host, the transaction's run
//                      from a shell; lab, the same through the real units in a host-lab
//                      machine: root, systemd-nspawn and debootstrap, docs/host-lab.md;
//                      delta, the tree artifact's; image, an OCI-layout image's delta)
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchHost } from './bench/host-bench.js';
import { benchLab } from './bench/lab-bench.js';
import { markdownTable, textTable, type Figure } from './bench/report.js';
import { benchStaging } from './bench/stage-bench.js';
import { benchDelta } from './bench/delta-bench.js';
import { benchImageDelta } from './bench/image-delta-bench.js';

const MiB = 1024 * 1024;
const quick = process.env.BENCH_QUICK === '1';
const only = new Set((process.env.BENCH_ONLY ?? 'stage,host,lab,delta,image').split(','));

const settings = quick
  ? {
      stage: { treeBytes: 32 * MiB, files: 300, runs: 3, rssSizes: [32 * MiB, 64 * MiB], rssRuns: 1 },
      delta: { treeBytes: 32 * MiB, files: 300, runs: 3, smallTreeBytes: 8 * MiB, reflinkRuns: 2 },
      // The default interval (2s) decides the rollback latency; a short stable window only shortens the run.
      host: { rollbackRuns: 1, swapRuns: 1, noopRuns: 3, statusRuns: 5, health: '[health]\nstable = "1s"\n' },
    }
  : {
      stage: { treeBytes: 256 * MiB, files: 2000, runs: 7, rssSizes: [256 * MiB, 1024 * MiB], rssRuns: 3 },
      delta: { treeBytes: 256 * MiB, files: 2000, runs: 6, smallTreeBytes: 64 * MiB, reflinkRuns: 6 },
      host: { rollbackRuns: 3, swapRuns: 5, noopRuns: 5, statusRuns: 15, health: '' },
    };

function machine(): Record<string, string> {
  const sh = (command: string): string => spawnSync('bash', ['-c', command]).stdout.toString().trim();
  return {
    date: new Date().toISOString(),
    nproc: String(availableParallelism()),
    cpu: cpus()[0]?.model ?? 'unknown',
    memory: `${(totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    'free -h': sh('free -h | sed -n 2p | tr -s " "'),
    node: process.version,
    kernel: sh('uname -r'),
    filesystem: sh(`df -T ${tmpdir()} | tail -1 | tr -s " " | cut -d" " -f2`),
    'load average at start': loadavg().map((l) => l.toFixed(2)).join(' '),
  };
}

const log = (line: string): void => void process.stderr.write(`bench: ${line}\n`);

async function main(): Promise<void> {
  const info = machine();
  log(`${quick ? 'quick' : 'full'} run on ${info.nproc} cores, node ${info.node}, load ${info['load average at start']}`);
  const workDir = mkdtempSync(join(tmpdir(), 'tide-bench-'));
  const figures: Figure[] = [];
  try {
    if (only.has('stage')) figures.push(...(await benchStaging({ workDir, ...settings.stage, log })));
    if (only.has('host')) figures.push(...(await benchHost({ ...settings.host, log })));
    if (only.has('lab')) figures.push(...(await benchLab({ rollbackRuns: settings.host.rollbackRuns, swapRuns: settings.host.swapRuns, health: settings.host.health, log })));
    if (only.has('delta')) figures.push(...(await benchDelta({ workDir, ...settings.delta, log })));
    if (only.has('image')) figures.push(...(await benchImageDelta({ workDir, layerBytes: [16 * MiB, 8 * MiB, 4 * MiB], runs: quick ? 3 : 5, log })));
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  info['load average at end'] = loadavg().map((l) => l.toFixed(2)).join(' ');
  process.stdout.write(`\n${textTable(figures)}\n`);
  for (const figure of figures.filter((f) => f.note)) process.stdout.write(`  ${figure.name}: ${figure.note}\n`);
  const stamp = info.date!.slice(0, 16).replace(/:/g, '-');
  const dir = new URL('../../bench-results/', import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  const result = { quick, machine: info, figures };
  writeFileSync(join(dir, `bench-${stamp}.json`), JSON.stringify(result, null, 2) + '\n');
  const machineLines = Object.entries(info).map(([key, value]) => `- ${key}: ${value}`).join('\n');
  writeFileSync(join(dir, `bench-${stamp}.md`), `${markdownTable(figures)}\n\n${machineLines}\n`);
  process.stdout.write(`\nwrote bench-results/bench-${stamp}.json and .md${figures.every((f) => f.met) ? '' : ' (some targets missed: see "met")'}\n`);
}

await main();
