// One run of `tide daemon`, exactly what `tide update` does from a timer: take the
// state-dir lock, settle a leftover pending update, check, and apply the release
// when the window allows; then the metrics textfile, the closing log line and the
// fleet report. A run never throws: whatever went wrong is its summary.
import { reconcileAtBoot } from '../containers/recover-containers.js';
import type { Config } from '../config/load-config.js';
import { runLogger, type Logger } from '../log/logger.js';
import { withStateLock } from '../machine/lock.js';
import { createMachineContext } from '../machine/wire-context.js';
import type { MachineContext } from '../machine/context.js';
import type { TransactionOutcome } from '../machine/outcome.js';
import { checkForUpdate, runUpdate } from '../machine/run-update.js';
import { settlePending } from '../machine/settle-pending.js';
import { writeRunMetrics } from '../report/metrics.js';
import { reconcileOnce } from '../containers/reconciler.js';
import { reportRun } from '../report/fleet-report.js';
import { logRunSummary, summarizeError, summarizeValue, type RunSummary } from '../report/run-summary.js';
import { updateHostState } from '../store/host-state.js';
import { inWindow, type ApplyWindow, type DaemonSchedule } from './schedule.js';

/** `settle`: only finish what a crash left (at start); `scheduled`: a tick's full run. */
export type RunKind = 'settle' | 'scheduled';

export interface DaemonRunContext {
  config: Config;
  /** The daemon's logger; each run wraps it so every event carries the app. */
  logger: Logger;
  schedule: DaemonSchedule;
  /** Aborted on SIGTERM: the transaction in progress finishes or undoes its step, then the run ends. */
  interrupt: AbortController;
  /** Tests: replace parts of the machine (clock, mirror client, …). */
  machine?: Partial<MachineContext>;
}

export async function daemonRun(context: DaemonRunContext, kind: RunKind, run: number): Promise<RunSummary> {
  const { config } = context;
  const logger = runLogger(context.logger, config.app);
  const started = Date.now();
  let machine: MachineContext | undefined;
  let summary: RunSummary;
  try {
    machine = createMachineContext(config, logger, { interrupt: context.interrupt, ...context.machine });
    const ready = machine;
    // SPEC commands.md#exit-codes: 7, like `tide update`, a run waits for no one; a held lock skips this run.
    const value = await withStateLock(config.state_dir, 'daemon', async () => {
      try {
        return await runBody(ready, kind, context.schedule.window);
      } finally {
        writeRunMetrics(config, logger);
      }
    });
    summary = summarizeValue('daemon', value, Date.now() - started);
  } catch (err) {
    summary = summarizeError('daemon', err, Date.now() - started);
  }
  logRunSummary(logger, summary, 'run-end', { run, kind });
  if (machine) await reportRun(config, logger, summary, machine.machineId);
  return summary;
}

async function runBody(machine: MachineContext, kind: RunKind, window: ApplyWindow | undefined): Promise<TransactionOutcome | null> {
  // A pending update is settled whatever the window says: the host is between two versions.
  const settled = await settlePending(machine);
  if (settled) return settled;
  if (kind === 'settle') {
    // At start, as `tide verify` at boot: recreate containers of the current version that are gone.
    await reconcileAtBoot(machine);
    return null;
  }
  if (window && !inWindow(window, machine.now())) return checkOutsideWindow(machine, window);
  return runUpdate(machine, { channel: machine.config.channel, force: false });
}

/** Outside the window: check (cheap), remember the answer, apply nothing. */
async function checkOutsideWindow(machine: MachineContext, window: ApplyWindow): Promise<TransactionOutcome> {
  const { decision, current } = await checkForUpdate(machine, { channel: machine.config.channel, force: false }).catch((err) => {
    updateHostState(machine.layout, (s) => { s.lastResult = (err as { code?: string }).code ?? 'failed'; });
    throw err;
  });
  const now = machine.now().toISOString();
  if (decision.action === 'none') {
    const result = current === decision.version ? 'up-to-date' : 'skipped';
    updateHostState(machine.layout, (s) => { s.lastResult = result; s.lastSuccess = now; });
    return { result, from: current, to: decision.version, reason: decision.reason };
  }
  const reason = `${decision.version} is available (${decision.reason}); it is applied inside the window ${window.text}`;
  updateHostState(machine.layout, (s) => { s.lastResult = 'waiting-for-window'; s.lastSuccess = now; });
  machine.logger.log('info', { event: 'check', message: reason, from: current, to: decision.version, result: 'waiting-for-window' });
  return { result: 'skipped', from: current, to: decision.version, reason };
}

/** SPEC containers.md#the-reconciler: one pass of the daemon's reconciler; the metrics after it. */
export async function reconcilePass(config: Config, daemonLogger: Logger): Promise<void> {
  const logger = runLogger(daemonLogger, config.app);
  const pass = await reconcileOnce(createMachineContext(config, logger));
  if (pass.ran) writeRunMetrics(config, logger);
}
