// `tide daemon`: for hosts without systemd timers (containers, OpenRC). Settles a
// pending update at start, then runs on `[schedule] cron` (node-cron, local time)
// after this host's fixed delay. Never two runs at once: a tick that comes while a
// run (or its delay) is under way is skipped and logged. On SIGTERM it stops
// scheduling, lets the run in progress finish or undo its step, and returns.
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from '../log/logger.js';
import type { RunSummary } from '../report/run-summary.js';
import type { RunKind } from './daemon-run.js';
import type { DaemonSchedule } from './schedule.js';

export interface DaemonOptions {
  app: string;
  schedule: DaemonSchedule;
  logger: Logger;
  /** Aborted by SIGTERM/SIGINT. */
  stop: AbortSignal;
  /** One run; `interrupt` is aborted when the daemon is asked to stop. Never throws. */
  run(kind: RunKind, run: number, interrupt: AbortController): Promise<RunSummary>;
  /** SPEC containers.md#the-reconciler: a pass every `intervalMs`, never beside a run. */
  reconcile?: { intervalMs: number; pass(): Promise<void> };
}

export interface DaemonStats {
  runs: number;
  /** Ticks skipped because a run was still under way. */
  skipped: number;
}

/** Resolve when `signal` aborts. */
function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** Resolve after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    // setTimeout takes at most 2^31-1 ms (about 24.8 days).
    const timer = setTimeout(done, Math.min(ms, 2 ** 31 - 1));
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

// node-cron's own warnings (a tick missed while the event loop was busy) go to our log, at debug.
function cronLogger(logger: Logger) {
  const line = (message: unknown) => logger.log('debug', { event: 'cron', message: String(message instanceof Error ? message.message : message) });
  return { info: line, warn: line, error: line, debug: line };
}

export async function runDaemon(options: DaemonOptions): Promise<DaemonStats> {
  const { schedule, logger, stop } = options;
  const interrupt = new AbortController();
  // SIGTERM reaches the run under way at once, the settle at start included.
  if (stop.aborted) interrupt.abort();
  else stop.addEventListener('abort', () => interrupt.abort(), { once: true });
  const stats: DaemonStats = { runs: 0, skipped: 0 };
  let underway: Promise<void> | null = null;
  const log = (level: 'info' | 'warn' | 'debug', event: string, message: string, extra: Record<string, unknown> = {}) =>
    logger.log(level, { event, message, app: options.app, ...extra });

  // A reconciler pass holds the lock briefly: a run waits for it instead of failing on the lock.
  let reconciling: Promise<void> | null = null;
  const start = (kind: RunKind): void => {
    const run = ++stats.runs;
    underway = (async () => {
      if (kind === 'scheduled') await pause(schedule.delayMs, stop);
      await reconciling;
      if (stop.aborted) return;
      log('info', 'run-start', `run ${run} (${kind === 'settle' ? 'settling a pending update at start' : 'scheduled'})`, { run, kind });
      await options.run(kind, run, interrupt);
    })()
      .catch((err) => log('warn', 'run-end', `run ${run} failed unexpectedly: ${(err as Error).message}`, { run, result: 'internal' }))
      .finally(() => { underway = null; });
  };

  log('info', 'daemon-start', `daemon started: cron ${JSON.stringify(schedule.cron)}, delay ${schedule.delayMs} ms after each tick${schedule.window ? `, updates applied only inside ${schedule.window.text}` : ''}`,
    { cron: schedule.cron, delayMs: schedule.delayMs, window: schedule.window?.text ?? null });
  start('settle');
  await underway;
  const reconcile = options.reconcile;
  const reconcileTimer = reconcile && !stop.aborted
    ? setInterval(() => {
      if (underway || reconciling || stop.aborted) return;
      reconciling = reconcile.pass()
        .catch((err) => log('warn', 'reconcile', `reconcile pass failed unexpectedly: ${(err as Error).message}`))
        .finally(() => { reconciling = null; });
    }, Math.max(reconcile.intervalMs, 100))
    : undefined;
  let task: ScheduledTask | undefined;
  if (!stop.aborted) {
    task = cron.schedule(schedule.cron, () => {
      if (stop.aborted) return;
      if (underway) {
        stats.skipped += 1;
        log('info', 'run-skipped', `tick skipped: run ${stats.runs} is still under way`, { run: stats.runs });
        return;
      }
      start('scheduled');
    }, { name: `tide-${options.app}`, logger: cronLogger(logger) });
    await untilAborted(stop);
  }
  await task?.destroy();
  clearInterval(reconcileTimer);
  await reconciling;
  // SIGTERM: the run in progress finishes or undoes its step (MachineContext.interrupt).
  if (underway) log('info', 'daemon-stop', `stopping: waiting for run ${stats.runs} to finish or undo its step`, { run: stats.runs });
  await underway;
  log('info', 'daemon-stop', `daemon stopped after ${stats.runs} run(s), ${stats.skipped} tick(s) skipped`, { runs: stats.runs, skipped: stats.skipped });
  return stats;
}
