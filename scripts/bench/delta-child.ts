// One staging of a release that has a tree, in a process of its own, as `tide update`
// stages: stageRelease with the real mirror client against nginx. `how` picks what the
// state dir holds and what the manifest lists: a kept version to stage from (delta), no
// kept version (full, with the tree checked against the bundle), or a manifest without
// its tree (today's full staging). Prints one JSON line.
import { readFileSync } from 'node:fs';
import { parseConfig } from '../../src/config/load-config.js';
import { parseReleaseManifest } from '../../src/documents/parse-document.js';
import type { LogEvent, Logger } from '../../src/log/logger.js';
import { stageRelease } from '../../src/machine/stage-release.js';
import { createMachineContext } from '../../src/machine/wire-context.js';
import type { ArtifactTransfer } from '../../src/machine/stage-delta.js';

export interface DeltaJob {
  stateDir: string;
  mirror: string;
  /** The release tree's manifest.json of the version to stage. */
  manifestFile: string;
  /** Drop the tree artifact: stage as a tide without trees would. */
  withoutTree: boolean;
}

export interface DeltaResult {
  stageMs: number;
  peakRssMB: number;
  transfers: ArtifactTransfer[];
}

function peakRssMB(): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  if (!match) throw new Error('no VmHWM in /proc/self/status');
  return (Number(match[1]) * 1024) / 1e6;
}

async function stageOnce(job: DeltaJob): Promise<DeltaResult> {
  await import('../../src/cli/commands/update.js');
  const config = parseConfig(
    `app = "bench"\nstate_dir = ${JSON.stringify(job.stateDir)}\nmirrors = [${JSON.stringify(job.mirror)}]\nkeys = ["unused.asc"]\nmax_unpacked = "8GiB"\n\n[health]\nprobes = "none"\n`,
    `${job.stateDir}.toml`,
  );
  const events: LogEvent[] = [];
  const logger: Logger = { log: (level, event) => { events.push(event); if (level === 'warn') process.stderr.write(`${event.message}\n`); } };
  const ctx = createMachineContext(config, logger);
  const manifest = parseReleaseManifest(readFileSync(job.manifestFile));
  if (job.withoutTree) manifest.artifacts = manifest.artifacts.filter((a) => a.type !== 'tree');
  const started = performance.now();
  const staged = await stageRelease(ctx, manifest, [job.mirror]);
  return { stageMs: performance.now() - started, peakRssMB: peakRssMB(), transfers: staged.transfers };
}

const job = JSON.parse(process.argv[2] ?? '') as DeltaJob;
process.stdout.write(JSON.stringify(await stageOnce(job)) + '\n');
