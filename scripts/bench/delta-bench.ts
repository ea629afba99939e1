// Delta updates (SPEC formats.md#the-tree-artifact): a release changing 1 % of the files
// of the staging bench's tree, built by `tide release build` (bundle, tree.json, objects)
// and served by nginx. Per run, in one of the six orders (each once in six runs), each
// into a fresh state dir: staging it from the kept previous version (delta), from its
// bundle with no kept version (full, tree checked), and from its bundle as a tide without
// trees would (today). Bytes over the wire are nginx's ($bytes_sent in its access log:
// headers and body), not tide's. Then, where the bench may mount a loop-backed xfs
// (root, mkfs.xfs), delta and today alternate with the state dirs on it: the kept files
// become reflinks there, the figure a filesystem that can clone gets.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildRelease } from '../../src/release/build-release.js';
import { writeBenchTree } from './bundle-tree.js';
import { startBenchNginx, type BenchNginx } from './nginx.js';
import { ratioOf, summarize, type Figure } from './report.js';
import { asLaunched, launchedEnv } from './launcher.js';
import type { DeltaJob, DeltaResult } from './delta-child.js';

export interface DeltaBenchOptions {
  workDir: string;
  treeBytes: number;
  files: number;
  runs: number;
  /** A smaller tree whose delta's peak RSS shows it is flat in tree size. */
  smallTreeBytes: number;
  /** Delta/today pairs with the state dirs on a loop-mounted xfs; 0 for none. */
  reflinkRuns: number;
  log: (line: string) => void;
}

const child = new URL('./delta-child.js', import.meta.url).pathname;
const MiB = 1024 * 1024;

function runChild(job: DeltaJob): Promise<DeltaResult> {
  spawnSync('sync');
  return new Promise((resolve, reject) => {
    const process_ = spawn(process.execPath, asLaunched(child, [JSON.stringify(job)]), { env: launchedEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    process_.stdout.on('data', (c) => (stdout += c));
    process_.stderr.on('data', (c) => (stderr += c));
    process_.on('close', (code) => (code === 0 ? resolve(JSON.parse(stdout) as DeltaResult) : reject(new Error(`staging failed (${code}): ${stderr.trim()}`))));
  });
}

/** Every hundredth file gets other bytes of the same size: 1 % of the files. */
function changeOnePercent(dir: string, files: string[]): void {
  files.forEach((file, index) => {
    if (index % 100 !== 0) return;
    const path = join(dir, file);
    const bytes = readFileSync(path);
    for (let i = 0; i < bytes.length; i += 64) bytes[i] = (bytes[i]! + 1) & 0xff;
    writeFileSync(path, bytes);
  });
}

function listFiles(dir: string, relative = ''): string[] {
  const out: string[] = [];
  for (const name of spawnSync('ls', ['-1', join(dir, relative)]).stdout.toString().split('\n').filter(Boolean).sort()) {
    const path = relative ? `${relative}/${name}` : name;
    if (statSync(join(dir, path)).isDirectory()) out.push(...listFiles(dir, path));
    else out.push(path);
  }
  return out;
}

interface Releases { tree: string; manifest: (version: string) => string; bundleSize: number; documentBytes: number }

async function buildReleases(workDir: string, name: string, bytes: number, files: number): Promise<Releases> {
  const v1 = writeBenchTree(join(workDir, `${name}-src-1`), { totalBytes: bytes, files, incompressible: 0.6 });
  const v2 = join(workDir, `${name}-src-2`);
  cpSync(v1.dir, v2, { recursive: true });
  changeOnePercent(v2, listFiles(v2));
  const tree = join(workDir, `${name}-release-tree`);
  await buildRelease({ tree, app: 'bench', version: '1.0.0', sourceDir: v1.dir });
  const built = await buildRelease({ tree, app: 'bench', version: '1.1.0', sourceDir: v2 });
  const bundle = built.manifest.artifacts.find((a) => a.type === 'bundle')!;
  return { tree, manifest: (v) => join(tree, 'releases', v, 'manifest.json'), bundleSize: bundle.size, documentBytes: statSync(built.manifestFile).size };
}

const wire = (nginx: BenchNginx): number => nginx.takeRequests().reduce((sum, r) => sum + r.sentBytes, 0);

/** A state dir with 1.0.0 installed (and its tree kept), as after a full install. */
async function withKeptVersion(dir: string, mirror: string, releases: Releases, nginx: BenchNginx): Promise<void> {
  await runChild({ stateDir: dir, mirror, manifestFile: releases.manifest('1.0.0'), withoutTree: false });
  wire(nginx);
}

type Mode = 'delta' | 'full' | 'today';

/** Why an xfs with reflinks cannot be mounted here, or undefined when it can. */
function whyNoXfs(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  if (spawnSync('mkfs.xfs', ['-V']).status !== 0) return 'no mkfs.xfs (xfsprogs)';
  return undefined;
}

function mustRun(argv: string[]): void {
  const result = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${argv.join(' ')} failed: ${result.stderr || result.error?.message}`);
}

/** A sparse xfs image with reflinks, loop-mounted for `body`; always unmounted and removed. */
async function onXfs<T>(workDir: string, bytes: number, body: (dir: string) => Promise<T>): Promise<T> {
  const image = join(workDir, 'delta-xfs.img');
  const mount = join(workDir, 'delta-xfs');
  try {
    mustRun(['truncate', '-s', String(bytes), image]);
    mustRun(['mkfs.xfs', '-q', '-m', 'reflink=1', image]);
    mkdirSync(mount);
    mustRun(['mount', '-o', 'loop', image, mount]);
    try {
      return await body(mount);
    } finally {
      mustRun(['umount', mount]);
    }
  } finally {
    rmSync(image, { force: true });
    rmSync(mount, { recursive: true, force: true });
  }
}

/** Per run on the xfs: the kept version installed, then delta and today in alternating order. */
async function benchReflinks(root: string, mirror: string, releases: Releases, nginx: BenchNginx, runs: number, log: (line: string) => void): Promise<{ delta: number[]; today: number[]; ratios: number[] }> {
  const out = { delta: [] as number[], today: [] as number[], ratios: [] as number[] };
  for (let run = 0; run < runs; run++) {
    const runDir = join(root, `run-${run}`);
    const times: Partial<Record<Mode, number>> = {};
    const order: Mode[] = run % 2 === 0 ? ['delta', 'today'] : ['today', 'delta'];
    // As in the ext4 runs, the kept version is installed before either timed staging.
    mkdirSync(join(runDir, 'delta'), { recursive: true });
    await withKeptVersion(join(runDir, 'delta'), mirror, releases, nginx);
    for (const mode of order) {
      const stateDir = join(runDir, mode);
      mkdirSync(stateDir, { recursive: true });
      const result = await runChild({ stateDir, mirror, manifestFile: releases.manifest('1.1.0'), withoutTree: mode === 'today' });
      wire(nginx);
      const how = result.transfers.find((t) => t.type !== 'image')!.how;
      if ((mode === 'delta') !== (how === 'delta')) throw new Error(`expected a ${mode} staging on xfs, it was ${how}`);
      times[mode] = result.stageMs;
      out[mode as 'delta' | 'today'].push(result.stageMs);
    }
    out.ratios.push(times.delta! / times.today!);
    log(`  xfs run ${run + 1}/${runs}: delta ${Math.round(times.delta!)} ms, today ${Math.round(times.today!)} ms`);
    // Three trees a run: removed, so the image never needs more than one run's room.
    rmSync(runDir, { recursive: true, force: true });
  }
  return out;
}

export async function benchDelta(options: DeltaBenchOptions): Promise<Figure[]> {
  options.log(`delta: building 1.0.0 and 1.1.0 (1 % of ${options.files} files changed) of ${options.treeBytes / MiB} MiB with tide release build`);
  const releases = await buildReleases(options.workDir, 'delta', options.treeBytes, options.files);
  const small = await buildReleases(options.workDir, 'delta-small', options.smallTreeBytes, Math.max(100, Math.round(options.files * options.smallTreeBytes / options.treeBytes)));
  const www = join(options.workDir, 'delta-www');
  mkdirSync(www);
  spawnSync('ln', ['-s', releases.tree, join(www, 'big')]);
  spawnSync('ln', ['-s', small.tree, join(www, 'small')]);
  const nginx = await startBenchNginx(www);
  const samples: Record<Mode, number[]> = { delta: [], full: [], today: [] };
  const deltaRatios: number[] = [];
  const fullRatios: number[] = [];
  const wireBytes: number[] = [];
  const fullWire: number[] = [];
  const rss: number[] = [];
  const smallRss: number[] = [];
  let reflinks: { delta: number[]; today: number[]; ratios: number[] } | undefined;
  try {
    const mirror = `${nginx.url}/big`;
    // Every order of the three, one per run: each mode runs first, second and third, and
    // right after each other mode, equally often. The order matters: a staging right after
    // a delta ran about 150 ms slower (2026-12-03: full after a delta 1.74–1.81 s, full
    // first 1.61–1.65 s), and the rotation used before put "full" after "delta" in five
    // runs of seven and "today" in none, which made the tree look 18 % dearer.
    const orders: Mode[][] = [['delta', 'full', 'today'], ['full', 'today', 'delta'], ['today', 'delta', 'full'], ['delta', 'today', 'full'], ['today', 'full', 'delta'], ['full', 'delta', 'today']];
    for (let run = 0; run < options.runs; run++) {
      const times: Partial<Record<Mode, number>> = {};
      // The kept version is installed before the timed runs, so its writes precede none of them in particular.
      const keptDir = join(options.workDir, 'delta-runs', `delta-${run}`);
      mkdirSync(keptDir, { recursive: true });
      await withKeptVersion(keptDir, mirror, releases, nginx);
      for (const mode of orders[run % orders.length]!) {
        const stateDir = join(options.workDir, 'delta-runs', `${mode}-${run}`);
        mkdirSync(stateDir, { recursive: true });
        wire(nginx);
        const result = await runChild({ stateDir, mirror, manifestFile: releases.manifest('1.1.0'), withoutTree: mode === 'today' });
        const how = result.transfers.find((t) => t.type !== 'image')!.how;
        if ((mode === 'delta') !== (how === 'delta')) throw new Error(`expected a ${mode} staging, it was ${how}`);
        const sent = wire(nginx);
        if (mode === 'delta') { wireBytes.push(sent + releases.documentBytes); rss.push(result.peakRssMB); }
        if (mode === 'today') fullWire.push(sent + releases.documentBytes);
        samples[mode].push(result.stageMs);
        times[mode] = result.stageMs;
      }
      deltaRatios.push(times.delta! / times.today!);
      fullRatios.push(times.full! / times.today!);
      options.log(`  run ${run + 1}/${options.runs}: delta ${Math.round(times.delta!)} ms, full ${Math.round(times.full!)} ms, today ${Math.round(times.today!)} ms, delta wire ${wireBytes.at(-1)} B`);
    }
    for (let run = 0; run < Math.min(3, options.runs); run++) {
      const stateDir = join(options.workDir, 'delta-runs', `small-${run}`);
      mkdirSync(stateDir, { recursive: true });
      await withKeptVersion(stateDir, `${nginx.url}/small`, small, nginx);
      smallRss.push((await runChild({ stateDir, mirror: `${nginx.url}/small`, manifestFile: small.manifest('1.1.0'), withoutTree: false })).peakRssMB);
    }
    const noXfs = options.reflinkRuns > 0 ? whyNoXfs() : 'not asked for';
    if (noXfs) options.log(`delta: no xfs figure (${noXfs})`);
    else {
      options.log(`delta: ${options.reflinkRuns} delta/today pairs with the state dirs on a loop-mounted xfs (reflinks)`);
      // Room for one run: the kept version, the delta, today's tree and its bundle, with margin.
      const room = Math.max(1024 * MiB, 6 * options.treeBytes);
      reflinks = await onXfs(options.workDir, room, (dir) => benchReflinks(dir, mirror, releases, nginx, options.reflinkRuns, options.log));
    }
  } finally {
    await nginx.stop();
    rmSync(join(options.workDir, 'delta-runs'), { recursive: true, force: true });
  }
  const what = `${options.treeBytes / MiB} MiB, ${options.files}-file release with 1 % of its files changed`;
  const wireSummary = summarize(wireBytes);
  const fullSummary = summarize(fullWire);
  const wireRatio = ratioOf(wireSummary, fullSummary);
  const deltaRatio = summarize(deltaRatios);
  const fullRatio = summarize(fullRatios);
  const rssSummary = summarize(rss);
  const smallSummary = summarize(smallRss);
  const flat = rssSummary.median <= smallSummary.median * 1.1;
  const figures: Figure[] = [
    { name: `delta: bytes over the wire (nginx $bytes_sent) for a ${what}`, unit: 'bytes', tide: wireSummary, baseline: { label: 'the full bundle', ...fullSummary }, ratio: wireRatio, target: '≤ 0.03×', met: wireRatio <= 0.03 },
    { name: `delta: staging time for a ${what}`, unit: 'ms', tide: summarize(samples.delta), baseline: { label: 'full staging from the bundle (today)', ...summarize(samples.today) }, ratio: deltaRatio.median, target: '≤ 0.2× (median of paired ratios)', met: deltaRatio.median <= 0.2, note: `paired ratios ${deltaRatio.min.toFixed(2)}–${deltaRatio.max.toFixed(2)}; the final sync writes every copied byte again (ext4 has no reflink)` },
    { name: `delta: full install with a tree (no kept version) of a ${what}`, unit: 'ms', tide: summarize(samples.full), baseline: { label: 'full staging without the tree (today)', ...summarize(samples.today) }, ratio: fullRatio.median, target: '≤ 1.05× (median of paired ratios)', met: fullRatio.median <= 1.05, note: `paired ratios ${fullRatio.min.toFixed(2)}–${fullRatio.max.toFixed(2)}` },
    { name: `delta: peak RSS staging the ${what}`, unit: 'MB', tide: rssSummary, baseline: { label: `the same delta of a ${options.smallTreeBytes / MiB} MiB tree`, ...smallSummary }, ratio: ratioOf(rssSummary, smallSummary), target: '≤ 100 MB, flat (≤ 1.1×)', met: rssSummary.median <= 100 && flat },
  ];
  if (reflinks) {
    const ratio = summarize(reflinks.ratios);
    figures.push({
      name: `delta: staging time on xfs with reflinks (loop-mounted) for a ${what}`, unit: 'ms', tide: summarize(reflinks.delta),
      baseline: { label: 'full staging from the bundle (today), same xfs', ...summarize(reflinks.today) }, ratio: ratio.median,
      target: '≤ 0.2× (median of paired ratios)', met: ratio.median <= 0.2,
      note: `paired ratios ${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)}; kept files are reflinks, each clone read back to hash it`,
    });
  }
  return figures;
}
