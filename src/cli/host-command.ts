// Shared by the host commands: load the config, wire the context, hold the lock.
import { loadConfig, configPathFrom, type Config } from '../config/load-config.js';
import { withStateLock } from '../machine/lock.js';
import { createMachineContext, abortOnSignals } from '../machine/wire-context.js';
import type { MachineContext } from '../machine/context.js';
import type { CliContext } from './context.js';
import { exitCodeOfOutcome, type TransactionOutcome } from '../machine/outcome.js';
import { runLogger } from '../log/logger.js';
import { writeRunMetrics } from '../report/metrics.js';
import { reportRun } from '../report/fleet-report.js';
import { recordAcceptedConfig } from '../store/accepted-config.js';
import { logRunSummary, summarizeError, summarizeValue, type RunSummary } from '../report/run-summary.js';

export function loadHostConfig(ctx: CliContext): Config {
  return loadConfig(configPathFrom(ctx.configFlag));
}

/**
 * Run one host command: the run's logger (every event carries the app), the context,
 * the state-dir lock; after the body, the metrics textfile (still under the lock),
 * the closing `result` log line (--log-format json) and the fleet report (after the lock).
 */
export async function withMachine<T>(cli: CliContext, command: string, body: (m: MachineContext) => Promise<T>, extra: Partial<MachineContext> = {}): Promise<T> {
  const config = loadHostConfig(cli);
  const logger = runLogger(cli.logger, config.app);
  const machine = createMachineContext(config, logger, extra);
  const stopListening = abortOnSignals(machine);
  const started = Date.now();
  let summary: RunSummary | undefined;
  try {
    const onWait = (message: string) => logger.log('warn', { event: 'lock', message });
    return await withStateLock(config.state_dir, command, async () => {
      // SPEC host-layout.md#the-accepted-config: lets `tide status` trust this text without the parser.
      try {
        recordAcceptedConfig(config.state_dir, config.acceptedDigest);
      } catch (err) {
        logger.log('warn', { event: 'config', message: `cannot record the accepted config (tide status will read it the slow way): ${(err as Error).message}` });
      }
      try {
        const value = await body(machine);
        summary = summarizeValue(command, value, Date.now() - started);
        return value;
      } catch (err) {
        summary = summarizeError(command, err, Date.now() - started);
        throw err;
      } finally {
        writeRunMetrics(config, logger);
      }
    }, { onWait });
  } finally {
    stopListening();
    if (summary) {
      // In text mode the command prints its own line; the JSON log gets one closing line per run.
      if (cli.logFormat === 'json') logRunSummary(logger, summary);
      await reportRun(config, logger, summary, machine.machineId);
    }
  }
}

/** Print a transaction's outcome (text or --json) and return its exit code. */
export function renderOutcome(cli: CliContext, outcome: TransactionOutcome, json: boolean): number {
  if (json) cli.out(JSON.stringify(outcome));
  else if (!cli.quiet || outcome.result === 'rolled-back' || outcome.result === 'rollback-failed') cli.out(outcomeLine(outcome));
  return exitCodeOfOutcome(outcome);
}

function outcomeLine(o: TransactionOutcome): string {
  switch (o.result) {
    case 'committed': return `updated ${o.from ?? '(nothing)'} → ${o.to}: ${o.reason}`;
    case 'up-to-date': return `up to date: ${o.to ?? '(nothing)'}`;
    case 'skipped': return `not updating: ${o.reason}`;
    case 'rolled-back': return `${o.to} was unhealthy${o.inProbation ? ' in probation after its commit' : ''}, rolled back to ${o.from}: ${o.reason}`;
    case 'rollback-failed': return `${o.to} was unhealthy and the rollback failed: ${o.reason}`;
    case 'nothing-pending': return 'nothing pending';
    case 'on-probation': return `${o.to} is still on probation: ${o.reason}`;
  }
}
