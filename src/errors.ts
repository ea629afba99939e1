// One error class with a stable code per failure class; one place maps it to
// the spec's exit codes and to the one line an operator reads.

// SPEC commands.md#exit-codes: the exit codes.
export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  refused: 3,
  unreachable: 4,
  rolledBack: 5,
  operatorNeeded: 6,
  locked: 7,
  updateAvailable: 100,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Stable codes, one per failure class. They appear in --json output and logs. */
export type ErrorCode =
  // 2: usage or configuration
  | 'usage'
  | 'config'
  // 3: refused
  | 'signature'
  | 'threshold'
  | 'hash'
  | 'size'
  | 'bundle-policy'
  | 'expired'
  | 'sequence'
  | 'downgrade'
  | 'revoked'
  | 'wrong-app'
  | 'wrong-channel'
  | 'schema'
  | 'bad-version'
  | 'missing-link-target'
  | 'link-path'
  | 'image-ref'
  | 'hook-failed'
  // SPEC trust.md#equivocation: one sequence, two different pointers
  | 'equivocation'
  // 4: no mirror answered
  | 'unreachable'
  | 'not-found'
  | 'timeout'
  // 5, 6, 7
  | 'rolled-back'
  | 'operator-needed'
  // 6: SPEC containers.md#podman-state-loss: podman's own database lost containers its storage still holds
  | 'podman-state'
  | 'locked'
  // 1
  | 'internal'
  // 1: tide asked its trust store for something out of the one legal order (a bug, never a mirror's doing)
  | 'out-of-order';

const exitByCode: Record<ErrorCode, ExitCodeValue> = {
  usage: ExitCode.usage,
  config: ExitCode.usage,
  signature: ExitCode.refused,
  threshold: ExitCode.refused,
  hash: ExitCode.refused,
  size: ExitCode.refused,
  'bundle-policy': ExitCode.refused,
  expired: ExitCode.refused,
  sequence: ExitCode.refused,
  downgrade: ExitCode.refused,
  revoked: ExitCode.refused,
  'wrong-app': ExitCode.refused,
  'wrong-channel': ExitCode.refused,
  schema: ExitCode.refused,
  'bad-version': ExitCode.refused,
  'missing-link-target': ExitCode.refused,
  'link-path': ExitCode.refused,
  'image-ref': ExitCode.refused,
  'hook-failed': ExitCode.refused,
  equivocation: ExitCode.refused,
  unreachable: ExitCode.unreachable,
  'not-found': ExitCode.unreachable,
  timeout: ExitCode.unreachable,
  'rolled-back': ExitCode.rolledBack,
  'operator-needed': ExitCode.operatorNeeded,
  'podman-state': ExitCode.operatorNeeded,
  locked: ExitCode.locked,
  internal: ExitCode.internal,
  'out-of-order': ExitCode.internal,
};

export interface ErrorPlace {
  /** Mirror base URL the failure came from. */
  mirror?: string;
  /** File (mirror-relative path or local path). */
  file?: string;
  /** Entry inside an archive. */
  entry?: string;
}

export class TideError extends Error {
  readonly code: ErrorCode;
  readonly where: ErrorPlace;

  constructor(code: ErrorCode, message: string, where: ErrorPlace = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TideError';
    this.code = code;
    this.where = where;
  }

  get exitCode(): ExitCodeValue {
    return exitByCode[this.code];
  }

  /** The same failure, located at a mirror or file it did not know about. */
  at(where: ErrorPlace): TideError {
    return new TideError(this.code, this.message, { ...where, ...this.where }, { cause: this.cause });
  }
}

export const refuse = (code: ErrorCode, message: string, where: ErrorPlace = {}): TideError =>
  new TideError(code, message, where);

export function exitCodeOf(err: unknown): ExitCodeValue {
  return err instanceof TideError ? err.exitCode : ExitCode.internal;
}

/** The one line an operator reads: what was wrong, then where. */
export function operatorLine(err: unknown): string {
  if (!(err instanceof TideError)) {
    const message = err instanceof Error ? err.message : String(err);
    return `tide: internal error: ${message}`;
  }
  const place = [
    err.where.mirror && `mirror ${err.where.mirror}`,
    err.where.file && `file ${err.where.file}`,
    err.where.entry && `entry ${JSON.stringify(err.where.entry)}`,
  ].filter(Boolean);
  const suffix = place.length > 0 ? ` (${place.join(', ')})` : '';
  return `tide: ${err.code}: ${err.message.replace(/\s*\n\s*/g, ' ')}${suffix}`;
}

export function isTideError(err: unknown, code?: ErrorCode): err is TideError {
  return err instanceof TideError && (code === undefined || err.code === code);
}
