// What a transaction ended in, and the exit code the spec gives it.
import { ExitCode, type ExitCodeValue } from '../errors.js';
import type { ArtifactTransfer } from '../bundle/delta-staging.js';

export type OutcomeResult =
  | 'up-to-date'
  | 'skipped'
  | 'committed'
  | 'rolled-back'
  | 'rollback-failed'
  | 'nothing-pending';

export interface TransactionOutcome {
  result: OutcomeResult;
  from: string | null;
  to: string | null;
  /** One line: why it ended this way. */
  reason: string;
  durationMs?: number;
  /** SPEC commands.md#tide-update: per artifact of the installed release, bytes fetched and reused, and how. */
  transfers?: ArtifactTransfer[];
}

const exitByResult: Record<OutcomeResult, ExitCodeValue> = {
  'up-to-date': ExitCode.ok,
  skipped: ExitCode.ok,
  committed: ExitCode.ok,
  'nothing-pending': ExitCode.ok,
  'rolled-back': ExitCode.rolledBack,
  'rollback-failed': ExitCode.operatorNeeded,
};

export function exitCodeOfOutcome(outcome: TransactionOutcome): ExitCodeValue {
  return exitByResult[outcome.result];
}
