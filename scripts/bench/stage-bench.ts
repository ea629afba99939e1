// Staging a release from nginx on 127.0.0.1: tide (stageRelease in a process of its
// own) against the two shell pipelines a user would script instead, interleaved run
// by run, each into a fresh directory (extracting right after deleting a big tree is
// much slower on ext4 with discard, so nothing is deleted until the section ends), with the
// page cache flushed (`sync`) before every run so no run pays for another's writes.
// Then tide's peak RSS for two bundle sizes.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { packBundle, writeBenchTree, type PackedBundle } from './bundle-tree.js';
import { startBenchNginx, type BenchNginx } from './nginx.js';
import { ratioOf, summarize, type Figure } from './report.js';
import { asLaunched, launchedEnv } from './launcher.js';
import type { StageJob, StageResult } from './stage-child.js';

export interface StageBenchOptions {
  workDir: string;
  /** Bytes and files of the release tree timed against the shell pipelines. */
  treeBytes: number;
  files: number;
  runs: number;
  /** Tree sizes whose peak RSS is measured (the first should be treeBytes). */
  rssSizes: number[];
  rssRuns: number;
  log: (line: string) => void;
}

const stageChild = new URL('./stage-child.js', import.meta.url).pathname;
const MiB = 1024 * 1024;
const sizeName = (bytes: number): string => (bytes >= 1024 * MiB ? `${bytes / (1024 * MiB)} GiB` : `${bytes / MiB} MiB`);

interface PublishedBundle extends PackedBundle {
  version: string;
  url: string;
}

/** A release tree of `bytes`, packed into the mirror tree nginx serves (the tree stays until the end: see above). */
function publishBundle(workDir: string, bytes: number, files: number): Omit<PublishedBundle, 'url'> {
  const version = `bench-${bytes / MiB}m`;
  const tree = writeBenchTree(join(workDir, `tree-${version}`), { totalBytes: bytes, files, incompressible: 0.6 });
  const releaseDir = join(workDir, 'www', 'releases', version);
  mkdirSync(releaseDir, { recursive: true });
  return { ...packBundle(tree, join(releaseDir, 'bundle.tar.gz')), version };
}

interface ShellRun {
  ms: number;
  /** CPU of every process of the pipeline (bash's `times`, children). */
  cpuMs: number;
}

function timedShell(script: string): Promise<ShellRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('bash', ['-c', `${script}; times >&2`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => {
      const ms = performance.now() - started;
      if (code !== 0) return reject(new Error(`shell pipeline failed (${code}): ${stderr.trim()}`));
      // `times`: the shell's user and system time, then its children's: "0m1.234s 0m0.567s".
      const seconds = (stderr.trim().split('\n').at(-1) ?? '').split(' ').map((t) => /^(\d+)m([\d.]+)s$/.exec(t)).map((m) => (m ? Number(m[1]) * 60 + Number(m[2]) : NaN));
      resolve({ ms, cpuMs: (seconds[0]! + seconds[1]!) * 1000 });
    });
  });
}

function stageInChild(job: StageJob): Promise<StageResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, asLaunched(stageChild, [JSON.stringify(job)]), { env: launchedEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(stdout) as StageResult) : reject(new Error(`staging failed (${code}): ${stderr.trim()}`))));
  });
}

type Method = 'tide' | 'stream' | 'file';

/** The shell baselines: both check the sha256 the way a careful script would. */
function shellScript(method: Exclude<Method, 'tide'>, bundle: PublishedBundle, dir: string): string {
  if (method === 'stream') {
    return `set -e; cd ${dir}; mkdir x; curl -sf ${bundle.url} | tee >(sha256sum > sum) | tar -xzf - -C x; wait $!; ` +
      `test "$(cut -d' ' -f1 sum)" = ${bundle.sha256}`;
  }
  return `set -e; cd ${dir}; curl -sf -o bundle.tar.gz ${bundle.url}; echo "${bundle.sha256}  bundle.tar.gz" | sha256sum -c --quiet; ` +
    `mkdir x; tar -xzf bundle.tar.gz -C x`;
}

async function runOnce(method: Method, bundle: PublishedBundle, dir: string, mirror: string): Promise<StageResult | ShellRun> {
  spawnSync('sync');
  mkdirSync(dir, { recursive: true });
  if (method !== 'tide') return timedShell(shellScript(method, bundle, dir));
  const result = await stageInChild({
    stateDir: dir,
    mirror,
    version: bundle.version,
    bundle: { path: 'bundle.tar.gz', size: bundle.size, sha256: bundle.sha256 },
  });
  if (!result.streamed) throw new Error('tide extracted the bundle a second time: streaming staging did not hold');
  return result;
}

async function timeStaging(options: StageBenchOptions, nginx: BenchNginx, bundle: PublishedBundle): Promise<Figure[]> {
  const samples: Record<Method, number[]> = { tide: [], stream: [], file: [] };
  const cpu: Record<Method, number[]> = { tide: [], stream: [], file: [] };
  const order: Method[] = ['tide', 'stream', 'file'];
  for (let run = 0; run < options.runs; run++) {
    // Rotate the order so that drift over the section hits every method alike.
    for (const method of [...order.slice(run % 3), ...order.slice(0, run % 3)]) {
      const outcome = await runOnce(method, bundle, join(options.workDir, 'runs', `${method}-${run}`), nginx.url);
      samples[method].push('stageMs' in outcome ? outcome.stageMs : outcome.ms);
      cpu[method].push(outcome.cpuMs);
    }
    options.log(`  run ${run + 1}/${options.runs}: tide ${Math.round(samples.tide.at(-1)!)} ms, stream ${Math.round(samples.stream.at(-1)!)} ms, file ${Math.round(samples.file.at(-1)!)} ms`);
  }
  const tide = summarize(samples.tide);
  const stream = summarize(samples.stream);
  const file = summarize(samples.file);
  const what = `stage a ${sizeName(options.treeBytes)} release (${options.files} files, ${(bundle.size / MiB).toFixed(0)} MiB .tar.gz)`;
  const streamRatio = ratioOf(tide, stream);
  const cpuOf = (method: Method): string => `${(summarize(cpu[method]).median / 1000).toFixed(2)} s`;
  const note = `tide downloads, checks the sha256, checks every entry, extracts, and fsyncs every file of the tree (the shell pipelines sync nothing); ` +
    `CPU (all threads and processes, median): tide ${cpuOf('tide')}, stream ${cpuOf('stream')}, file ${cpuOf('file')}`;
  return [
    { name: what, unit: 'ms', tide, baseline: { label: 'curl | tee >(sha256sum) | tar -xz', ...stream }, ratio: streamRatio, target: '≤ 0.8×', met: streamRatio <= 0.8, note },
    { name: `${what}, vs download-then-extract`, unit: 'ms', tide, baseline: { label: 'curl -o; sha256sum -c; tar -xzf', ...file }, ratio: ratioOf(tide, file), target: '(for reference)', met: true },
  ];
}

async function peakRss(options: StageBenchOptions, nginx: BenchNginx, bundles: PublishedBundle[]): Promise<Figure[]> {
  const peaks: number[][] = bundles.map(() => []);
  const idle: number[] = [];
  for (let run = 0; run < options.rssRuns; run++) {
    for (const [index, bundle] of bundles.entries()) {
      const result = await runOnce('tide', bundle, join(options.workDir, 'runs', `rss-${bundle.version}-${run}`), nginx.url) as StageResult;
      peaks[index]!.push(result.peakRssMB);
      idle.push(result.idleRssMB);
    }
  }
  const first = summarize(peaks[0]!);
  return bundles.map((bundle, index) => {
    const tide = summarize(peaks[index]!);
    const label = index === 0 ? 'the same process before staging' : `staging ${sizeName(options.rssSizes[0]!)}`;
    const baseline = index === 0 ? summarize(idle) : first;
    const flat = index === 0 || tide.median <= first.median * 1.1;
    return {
      name: `peak RSS staging a ${sizeName(options.rssSizes[index]!)} release (${(bundle.size / MiB).toFixed(0)} MiB .tar.gz)`,
      unit: 'MB',
      tide,
      baseline: { label, ...baseline },
      ratio: ratioOf(tide, baseline),
      target: index === 0 ? '≤ 100 MB' : '≤ 100 MB, flat (≤ 1.1×)',
      met: tide.median <= 100 && flat,
    };
  });
}

export async function benchStaging(options: StageBenchOptions): Promise<Figure[]> {
  const sizes = [...new Set([options.treeBytes, ...options.rssSizes])];
  options.log(`building release trees of ${sizes.map(sizeName).join(', ')} and packing them with GNU tar`);
  const published = sizes.map((bytes) => publishBundle(options.workDir, bytes, options.files));
  spawnSync('sync');
  const nginx = await startBenchNginx(join(options.workDir, 'www'));
  try {
    const bundles = published.map((b): PublishedBundle => ({ ...b, url: `${nginx.url}/releases/${b.version}/bundle.tar.gz` }));
    const bySize = new Map(sizes.map((bytes, index) => [bytes, bundles[index]!]));
    options.log(`staging ${sizeName(options.treeBytes)}: tide vs the shell pipelines, ${options.runs} runs`);
    const timing = await timeStaging(options, nginx, bySize.get(options.treeBytes)!);
    options.log(`peak RSS: ${options.rssSizes.map(sizeName).join(', ')}, ${options.rssRuns} runs`);
    const rss = await peakRss(options, nginx, options.rssSizes.map((bytes) => bySize.get(bytes)!));
    return [...timing, ...rss];
  } finally {
    await nginx.stop();
    rmSync(join(options.workDir, 'runs'), { recursive: true, force: true });
  }
}
