// One staging, in a process of its own, as `tide update` stages: stageRelease with
// the real mirror client against an http mirror, into a fresh state dir, in a
// process that has loaded what `tide update` loads. Prints one
// JSON line: how long staging took, the CPU it used and the process's peak RSS
// (worker threads included) before and after.
import { readFileSync } from 'node:fs';
import { parseConfig } from '../../src/config/load-config.js';
import type { ReleaseManifest } from '../../src/documents/schemas.js';
import type { LogEvent, Logger } from '../../src/log/logger.js';
import { stageRelease } from '../../src/machine/stage-release.js';
import { createMachineContext } from '../../src/machine/wire-context.js';

export interface StageJob {
  stateDir: string;
  mirror: string;
  version: string;
  bundle: { path: string; size: number; sha256: string };
}

export interface StageResult {
  stageMs: number;
  cpuMs: number;
  /** Peak RSS before staging (the process with tide's modules loaded), in MB. */
  idleRssMB: number;
  peakRssMB: number;
  /** False when the tree was extracted again from the verified file (see extract-while-downloading.ts). */
  streamed: boolean;
  entries?: number;
}

const MB = 1e6;

/**
 * The process's peak RSS in MB: VmHWM, which starts afresh at exec. (getrusage's
 * maxRSS keeps the high-water mark of the forked parent across exec on Linux.)
 */
function peakRssMB(): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  if (!match) throw new Error('no VmHWM in /proc/self/status');
  return (Number(match[1]) * 1024) / MB;
}

async function stageOnce(job: StageJob): Promise<StageResult> {
  // Everything `tide update` has loaded when it stages (openpgp, zod, got, ...), so
  // that the idle figure and the peak are those of the real process.
  await import('../../src/cli/commands/update.js');
  const config = parseConfig(
    `app = "bench"\nstate_dir = ${JSON.stringify(job.stateDir)}\nmirrors = [${JSON.stringify(job.mirror)}]\nkeys = ["unused.asc"]\nmax_unpacked = "8GiB"\n\n[health]\nprobes = "none"\n`, // staging only: nothing is probed
    `${job.stateDir}.toml`,
  );
  const events: LogEvent[] = [];
  const logger: Logger = { log: (_level, event) => void events.push(event) };
  const ctx = createMachineContext(config, logger);
  const manifest: ReleaseManifest = {
    schema: 1,
    app: 'bench',
    version: job.version,
    published: new Date().toISOString(),
    artifacts: [{ type: 'bundle', ...job.bundle }],
  } as ReleaseManifest;
  const idleRssMB = peakRssMB();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await stageRelease(ctx, manifest, [job.mirror]);
  const stageMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const extracted = events.find((e) => e.event === 'stage' && /^extracted /.test(e.message));
  return {
    stageMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    idleRssMB,
    peakRssMB: peakRssMB(),
    streamed: !events.some((e) => e.event === 'stage' && /again/.test(e.message)),
    entries: extracted ? Number(/extracted (\d+)/.exec(extracted.message)?.[1]) : undefined,
  };
}

const job = JSON.parse(process.argv[2] ?? '') as StageJob;
process.stdout.write(JSON.stringify(await stageOnce(job)) + '\n');
