// SPEC commands.md#tide-recover: recreate the current version's missing or stopped
// containers (as after a podman database loss), then probe the host again with the
// configured probes. An unsettled update is settled first, so recovery never works
// on a version that is about to be rolled back.
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
  /** One line: the probes' verdict, or why there was nothing to do. */
  reason: string;
}

export async function recoverContainers(ctx: MachineContext): Promise<RecoverResult> {
  const settled = await settlePending(ctx);
  const version = readVersionLink(ctx.layout.current);
  if (version === null) return { version, settled, healthy: true, reason: 'nothing is installed yet' };
  if (!ctx.containers?.reconcile) throw new TideError('internal', 'container recovery is not wired in this context');
  await ctx.containers.reconcile();
  const verdict = await probeVersion(ctx, version, false);
  return { version, settled, healthy: verdict.healthy, reason: verdict.reason };
}
