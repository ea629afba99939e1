// The transaction's phases as names. The marker on disk names the phase BEFORE its
// side effect happens, so `tide verify` resumes from it. Phase names on disk are a
// contract: never rename one. Where each phase goes is decided in transitions.ts only.

export type Phase =
  /** Flipping previous and current and making sure every [[link]] points into current. */
  | 'swapping'
  /** Running the restart command. */
  | 'restarting'
  /** Probing the new version's health. */
  | 'probing'
  /** Healthy: recording history, post-commit hook; then probation, or (without one) removing the marker and pruning. */
  | 'committing'
  /** SPEC design.md#probation: committed, still watched for `[health] probation`; `previous` is kept until it ends. */
  | 'probation'
  /** Unhealthy (or interrupted): flipping back, restarting and probing the old version. */
  | 'rolling-back';

export const phaseOrder: readonly Phase[] = ['swapping', 'restarting', 'probing', 'committing', 'probation', 'rolling-back'];

export function isPhase(value: unknown): value is Phase {
  return typeof value === 'string' && (phaseOrder as readonly string[]).includes(value);
}
