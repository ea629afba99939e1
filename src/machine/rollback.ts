// Unhealthy or interrupted: flip back, restart the old version, probe it. The
// rollback runs to the end: a failing step is recorded and the next still runs;
// only then is it decided between exit 5 (old version healthy) and 6.
import { restartArgv } from '../config/load-config.js';
import { restartService } from '../system/systemd.js';
import { appendHistory, updateHostState } from '../store/host-state.js';
import { ensureAppLinks, pointVersionLink } from '../store/version-links.js';
import { removePendingMarker, type PendingMarker } from './pending-marker.js';
import { probeVersion } from './probe-version.js';
import type { MachineContext } from './context.js';
import type { TransactionOutcome } from './outcome.js';

export async function rollBack(ctx: MachineContext, marker: PendingMarker): Promise<TransactionOutcome> {
  const failures: string[] = [];
  const why = marker.reason ?? 'unhealthy';
  const step = async (what: string, body: () => Promise<void> | void) => {
    try {
      await body();
    } catch (err) {
      failures.push(`${what}: ${(err as Error).message}`);
      ctx.logger.log('error', { event: 'rollback', message: `${what} failed: ${(err as Error).message}`, phase: 'rolling-back' });
    }
  };
  const { from, to } = marker;
  if (from === null) {
    failures.push(`there is no previous version to roll back to (first install of ${to})`);
  } else {
    ctx.logger.log('warn', { event: 'rollback', message: `rolling back from ${to} to ${from}: ${why}`, from, to, phase: 'rolling-back' });
    await step('flip current back', () => {
      pointVersionLink(ctx.layout, ctx.layout.current, from);
      pointVersionLink(ctx.layout, ctx.layout.previous, marker.previousBefore);
      ensureAppLinks(ctx.layout, ctx.config.link);
    });
    ctx.crashPoint('rollback-after-flip');
    await step('containers back', async () => ctx.containers?.switchTo(from));
    await step('restart', async () => {
      const argv = restartArgv(ctx.config);
      if (!argv) return;
      const outcome = await restartService(ctx.runner, argv, { env: { TIDE_VERSION: from } });
      if (!outcome.ok) throw new Error(outcome.detail);
    });
    await step('probe', async () => {
      const verdict = await probeVersion(ctx, from, false);
      if (!verdict.healthy) throw new Error(`${from} is unhealthy too: ${verdict.reason}`);
    });
  }
  return recordRollback(ctx, marker, why, failures);
}

function recordRollback(ctx: MachineContext, marker: PendingMarker, why: string, failures: string[]): TransactionOutcome {
  const ok = failures.length === 0;
  const durationMs = ctx.now().getTime() - Date.parse(marker.startedAt);
  const reason = ok ? why : `${why}; then ${failures.join('; ')}`;
  const result = ok ? 'rolled-back' : 'rollback-failed';
  // SPEC design.md#probation: the version had been committed; its probation failed.
  const late = marker.probationUntil !== undefined;
  updateHostState(ctx.layout, (state) => {
    // The version failed on its own, not because tide was asked to stop or tide or the host
    // failed: unattended updates skip it. A release is bad only for its own health.
    if (!marker.interrupted && !marker.hostFault && !state.bad.includes(marker.to)) state.bad.push(marker.to);
    appendHistory(state, { time: ctx.now().toISOString(), from: marker.from, to: marker.to, result, reason, durationMs, ...(marker.lastProbeFailure && { lastProbeFailure: marker.lastProbeFailure }), ...(late && { inProbation: true }) });
    state.counters.rollbacks += 1;
    state.lastResult = result;
  });
  removePendingMarker(ctx.layout);
  ctx.logger.log(ok ? 'warn' : 'error', { event: 'rollback', message: ok ? `rolled back to ${marker.from}: ${why}` : `an operator is needed: ${reason}`, from: marker.from, to: marker.to, phase: 'rolling-back', result, reason, durationMs });
  return { result, from: marker.from, to: marker.to, reason, durationMs, ...(late && { inProbation: true }) };
}
