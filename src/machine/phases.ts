// The transaction's phases as data. The marker on disk names the phase BEFORE its
// side effect happens, so `tide verify` resumes from it. Phase names on disk are a
// contract: never rename one.

export type Phase =
  /** Flipping previous and current and making sure every [[link]] points into current. */
  | 'swapping'
  /** Running the restart command. */
  | 'restarting'
  /** Probing the new version's health. */
  | 'probing'
  /** Healthy: recording history, removing the marker, post-commit hook, pruning. */
  | 'committing'
  /** Unhealthy (or interrupted): flipping back, restarting and probing the old version. */
  | 'rolling-back';

export const phaseOrder: readonly Phase[] = ['swapping', 'restarting', 'probing', 'committing', 'rolling-back'];

const allowed: Record<Phase, readonly Phase[]> = {
  swapping: ['restarting', 'rolling-back'],
  restarting: ['probing', 'rolling-back'],
  probing: ['committing', 'rolling-back'],
  committing: [],
  'rolling-back': [],
};

export function canMove(from: Phase, to: Phase): boolean {
  return allowed[from].includes(to);
}

export function isPhase(value: unknown): value is Phase {
  return typeof value === 'string' && (phaseOrder as readonly string[]).includes(value);
}

/** Resumes beyond this count go straight to rollback: a version that kills the host must not loop. */
export const maxAttempts = 3;
