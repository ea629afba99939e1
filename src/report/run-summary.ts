// One run of a host command (or of the daemon), in the words the fleet sees:
// what it ended in, between which versions, why, how long it took. The same
// summary is the closing JSON log line, the metrics' last result and the report.
import { TideError, exitCodeOf, type ExitCodeValue } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { exitCodeOfOutcome, type OutcomeResult, type TransactionOutcome } from '../machine/outcome.js';

export interface RunSummary {
  /** update, check, verify, rollback, recover, daemon */
  command: string;
  /** An outcome (committed, rolled-back, up-to-date, …), update-available / no-update for a check, or an error code. */
  result: string;
  from: string | null;
  to: string | null;
  /** One line: why it ended this way. */
  reason: string;
  exitCode: ExitCodeValue;
  durationMs: number;
  /** A transaction ran (something was swapped, or swapped back): the fleet is told. */
  transaction: boolean;
}

const outcomeResults: readonly OutcomeResult[] = ['up-to-date', 'skipped', 'committed', 'rolled-back', 'rollback-failed', 'nothing-pending', 'on-probation'];
const transactionResults: readonly OutcomeResult[] = ['committed', 'rolled-back', 'rollback-failed'];

export function isTransactionOutcome(value: unknown): value is TransactionOutcome {
  return typeof value === 'object' && value !== null && outcomeResults.includes((value as TransactionOutcome).result)
    && 'from' in value && 'to' in value;
}

/** What `tide check` returns (machine/run-update CheckResult), without importing the machine. */
interface CheckLike {
  current: string | null;
  decision: { action: 'install' | 'none'; version: string; reason: string };
}

function isCheck(value: unknown): value is CheckLike {
  return typeof value === 'object' && value !== null && 'decision' in value && 'current' in value;
}

export function summarizeValue(command: string, value: unknown, durationMs: number): RunSummary {
  if (isTransactionOutcome(value)) {
    return {
      command, result: value.result, from: value.from, to: value.to, reason: value.reason,
      exitCode: exitCodeOfOutcome(value), durationMs: value.durationMs ?? durationMs,
      transaction: transactionResults.includes(value.result),
    };
  }
  if (isCheck(value)) {
    const available = value.decision.action === 'install';
    // SPEC commands.md#exit-codes: 100 = `tide check` only: an update is available.
    return {
      command, result: available ? 'update-available' : 'no-update', from: value.current, to: value.decision.version,
      reason: value.decision.reason, exitCode: available ? 100 : 0, durationMs, transaction: false,
    };
  }
  // `tide verify` (and the daemon's settle at start) found no pending marker.
  if (value === null) return { command, result: 'nothing-pending', from: null, to: null, reason: 'nothing pending', exitCode: 0, durationMs, transaction: false };
  // A command that decided its own exit code (`tide recover`).
  const exitCode = typeof value === 'number' ? (value as ExitCodeValue) : 0;
  return { command, result: exitCode === 0 ? 'ok' : 'failed', from: null, to: null, reason: `${command} ended with exit code ${exitCode}`, exitCode, durationMs, transaction: false };
}

export function summarizeError(command: string, err: unknown, durationMs: number): RunSummary {
  const result = err instanceof TideError ? err.code : 'internal';
  const reason = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
  return { command, result, from: null, to: null, reason, exitCode: exitCodeOf(err), durationMs, transaction: false };
}

/** The closing log line of a run: every field a log shipper groups or alerts on. */
export function logRunSummary(logger: Logger, summary: RunSummary, event = 'result', extra: Record<string, unknown> = {}): void {
  const level = summary.exitCode === 0 || summary.exitCode === 100 ? 'info' : summary.exitCode === 5 || summary.exitCode === 4 || summary.exitCode === 7 ? 'warn' : 'error';
  const versions = summary.from !== null || summary.to !== null ? { from: summary.from, to: summary.to } : {};
  logger.log(level, {
    event,
    message: `${summary.command}: ${summary.result}: ${summary.reason}`,
    command: summary.command,
    ...versions,
    result: summary.result,
    reason: summary.reason,
    durationMs: summary.durationMs,
    exitCode: summary.exitCode,
    ...extra,
  });
}
