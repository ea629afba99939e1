// SPEC commands.md#tide-recover: recreate the current version's missing or stopped
// containers (as after a podman database loss), then probe the host again with the
// configured probes. An unsettled update is settled first, so recovery never works
// on a version that is about to be rolled back. SPEC config.md#stage: stage by stage,
// the first stage retried until its probes pass within `[health] timeout`.
import { TideError } from '../errors.js';
import { readVersionLink } from '../store/version-links.js';
import { settlePending } from '../machine/settle-pending.js';
import { probeVersion } from '../machine/probe-version.js';
import type { MachineContext } from '../machine/context.js';
import type { TransactionOutcome } from '../machine/outcome.js';

export interface RecoverResult {
  /** The version whose containers were put back; null when nothing is installed. */
  version: string | null;
  /** What `tide verify` would have said about a pending marker found first. */
  settled: TransactionOutcome | null;
  healthy: boolean;
  /** One line: the failed stages and the probes' verdict, or why there was nothing to do. */
  reason: string;
  stageFailures?: string[];
}

export async function recoverContainers(ctx: MachineContext): Promise<RecoverResult> {
  const settled = await settlePending(ctx);
  const version = readVersionLink(ctx.layout.current);
  if (version === null) return { version, settled, healthy: true, reason: 'nothing is installed yet' };
  if (!ctx.containers?.reconcile) throw new TideError('internal', 'container recovery is not wired in this context');
  const reconciled = await ctx.containers.reconcile({ retryFirstForMs: ctx.config.health.timeout, gateEvery: true });
  const verdict = await probeVersion(ctx, version, false);
  const failed = reconciled.failures.length > 0 ? `${reconciled.failures.join('; ')}; ` : '';
  // A failed stage is named even when the probes pass afterwards: the operator sees what went wrong first.
  return { version, settled, healthy: verdict.healthy && failed === '', reason: `${failed}${verdict.reason}`, stageFailures: reconciled.failures };
}

/**
 * SPEC commands.md#tide-verify: at boot without a marker (and when `tide daemon`
 * starts): the same stage-by-stage recreation, without the final probe; a failed
 * stage is an operator's matter (exit 6), named.
 */
export async function reconcileAtBoot(ctx: MachineContext): Promise<void> {
  const reconciled = await ctx.containers?.reconcile?.({ retryFirstForMs: ctx.config.health.timeout, gateEvery: true });
  if (reconciled && reconciled.failures.length > 0) {
    throw new TideError('operator-needed', `containers of ${reconciled.version} could not be put in place: ${reconciled.failures.join('; ')}`);
  }
}
