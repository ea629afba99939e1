// What a transaction ended in, and the exit code the spec gives it.
import { ExitCode, type ExitCodeValue } from '../errors.js';
import type { ArtifactTransfer } from './stage-delta.js';

export type OutcomeResult =
  | 'up-to-date'
  | 'skipped'
  | 'committed'
  | 'rolled-back'
  | 'rollback-failed'
  | 'nothing-pending'
  /** SIGTERM during probation: the marker is kept and `tide verify` resumes probation. */
  | 'on-probation';

export interface TransactionOutcome {
  result: OutcomeResult;
  from: string | null;
  to: string | null;
  /** One line: why it ended this way. */
  reason: string;
  durationMs?: number;
  /** SPEC commands.md#tide-update: per artifact of the installed release, bytes fetched and reused, and how. */
  transfers?: ArtifactTransfer[];
  /** SPEC design.md#probation: the transaction ended in (or after) probation. */
  inProbation?: boolean;
}

const exitByResult: Record<OutcomeResult, ExitCodeValue> = {
  'up-to-date': ExitCode.ok,
  skipped: ExitCode.ok,
  committed: ExitCode.ok,
  'nothing-pending': ExitCode.ok,
  'rolled-back': ExitCode.rolledBack,
  'rollback-failed': ExitCode.operatorNeeded,
  'on-probation': ExitCode.ok,
};

export function exitCodeOfOutcome(outcome: TransactionOutcome): ExitCodeValue {
  return exitByResult[outcome.result];
}
