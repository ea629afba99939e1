// The side effects a transaction needs, behind narrow interfaces, wired once.
// Tests pass fakes for unit tests and the real thing end to end.
import type { Config } from '../config/load-config.js';
import type { Logger } from '../log/logger.js';
import type { MirrorClient, ProgressListener } from '../mirror/mirror-client.js';
import type { ProcessRunner } from '../system/process-runner.js';
import type { ReleaseManifest } from '../documents/schemas.js';
import type { ProbeAttempt, ProbeResult } from '../health/probes.js';
import type { ProbeSpec } from '../config/schema.js';
import { layoutFor, type Layout } from '../store/layout.js';

/** Podman images of a release (the containers issue); absent when the app has none. */
export interface ImageStage {
  /** Load a staged release's image artifacts; refuse a wrong ref. */
  load(manifest: ReleaseManifest): Promise<void>;
}

/** Why starting a version failed, and whether the host (not the release) is to blame. */
export interface StageFailure {
  reason: string;
  hostFault?: boolean;
}

/** Containers swapped with the release, stage by stage (src/containers); absent in some unit tests. */
export interface ContainerSwap {
  /** Swapping: stop the containers `version` replaces, last stage first (kept aside; at a rollback, removed). */
  switchTo(version: string): Promise<void>;
  /** Restarting: start `version` stage by stage, running `restart` in the service stage. */
  startStages?(version: string, restart: () => Promise<StageFailure | null>): Promise<StageFailure | null>;
  /** After commit: remove what the old version left for a fast rollback. */
  commit(version: string): Promise<void>;
  /** `tide recover`, boot and the reconciler: recreate missing or stopped containers of the current version. */
  reconcile?(options?: { retryFirstForMs?: number; gateEvery?: boolean }): Promise<{ version: string | null; failures: string[]; actions: { container: string; stage: string; action: string }[] }>;
  /** A container probe of a container `version` lacks does not apply to it. */
  appliesTo?(version: string, probe: ProbeSpec): boolean;
  /** The last result of each probe, kept for `tide status`; never throws. */
  recordProbes?(results: ReadonlyMap<ProbeSpec, ProbeResult>): void;
}

export interface MachineContext {
  config: Config;
  layout: Layout;
  logger: Logger;
  client: MirrorClient;
  runner: ProcessRunner;
  prober: ProbeAttempt;
  /** Wall clock: timestamps on disk, deadlines, probation's end (survive a reboot). */
  now: () => Date;
  /** Monotonic milliseconds: how long probing took, streaks of failures (immune to clock steps). */
  monotonic: () => number;
  /** Wait between probe rounds; resolves early when `signal` aborts. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  machineId: string;
  /** Set by SIGTERM: finish or undo the step in progress, then stop. */
  interrupt: AbortController;
  /**
   * `tide verify --hand-off-probation UNIT` (tide-verify.service at boot): reaching
   * probation, the run keeps the marker and stops, so boot is held for the startup
   * check only; the unit named here watches the probation.
   */
  probationHandOff?: string;
  images?: ImageStage;
  containers?: ContainerSwap;
  progress?: (path: string, total: number) => ProgressListener | undefined;
  /**
   * Test hook: SIGKILL this process at a named point (TIDE_TEST_CRASH_AT), throw there
   * (TIDE_TEST_THROW_AT), or hang there forever after one stderr line (TIDE_TEST_HANG_AT:
   * the host lab cuts the power of a machine whose tide is held at a phase).
   */
  crashPoint: (name: string) => void;
}

export function crashPointFromEnv(env: NodeJS.ProcessEnv = process.env): (name: string) => void {
  const killAt = env.TIDE_TEST_CRASH_AT;
  const throwAt = env.TIDE_TEST_THROW_AT;
  const hangAt = env.TIDE_TEST_HANG_AT;
  if (!killAt && !throwAt && !hangAt) return () => undefined;
  return (name) => {
    if (name === killAt) process.kill(process.pid, 'SIGKILL');
    if (name === hangAt) hangForever(name);
    // A plain Error, as a bug or a failing host call would throw: not a TideError.
    if (name === throwAt) throw new Error(`injected failure at ${name} (TIDE_TEST_THROW_AT)`);
  };
}

/** Block the whole process (timers and signal handlers included), as a frozen machine would be. */
function hangForever(name: string): never {
  process.stderr.write(`test hook: hanging at ${name} (TIDE_TEST_HANG_AT)\n`);
  const cell = new Int32Array(new SharedArrayBuffer(4));
  for (;;) Atomics.wait(cell, 0, 0);
}

export function layoutOf(config: Config): Layout {
  return layoutFor(config.state_dir);
}
