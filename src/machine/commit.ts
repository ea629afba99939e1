// Healthy: record the success; once the commit is final (no probation, or probation
// passed) remove the marker, run post-commit, remove the old containers, prune.
import { rmSync } from 'node:fs';
import { appendHistory, readHostState, updateHostState } from '../store/host-state.js';
import { keptVersions } from '../store/kept-versions.js';
import { readVersionLink } from '../store/version-links.js';
import { removePendingMarker, type PendingMarker } from './pending-marker.js';
import { runBundleHook } from './bundle-hooks.js';
import { installedVersions } from './stage-release.js';
import type { MachineContext } from './context.js';
import type { TransactionOutcome } from './outcome.js';

/** The history's record of the commit, once (a resume after a crash between this write and the next finds it). */
export function recordCommit(ctx: MachineContext, marker: PendingMarker): number {
  ctx.crashPoint('before-commit');
  const durationMs = ctx.now().getTime() - Date.parse(marker.startedAt);
  const result = marker.kind === 'rollback' ? 'manual-rollback' : 'committed';
  updateHostState(ctx.layout, (state) => {
    const last = state.history.at(-1);
    if (last && last.to === marker.to && last.from === marker.from && last.result === result && Date.parse(last.time) >= Date.parse(marker.startedAt)) return;
    appendHistory(state, { time: ctx.now().toISOString(), from: marker.from, to: marker.to, result, durationMs, ...(marker.lastProbeFailure && { lastProbeFailure: marker.lastProbeFailure }) });
    state.bad = state.bad.filter((v) => v !== marker.to);
    state.counters.updates += 1;
    // SPEC host-layout.md#statejson: what happened, as in the history (a manual rollback is not an update).
    state.lastResult = result;
    state.lastSuccess = ctx.now().toISOString();
  });
  ctx.logger.log('info', { event: 'commit', message: `committed ${marker.to}`, from: marker.from, to: marker.to, phase: 'committing', result: 'committed', durationMs });
  return durationMs;
}

/**
 * The commit made final (at once, or when probation ends): remove the marker, then the
 * post-commit hook, the old version's containers and the versions no longer kept.
 */
export async function finishCommit(ctx: MachineContext, marker: PendingMarker, reason: string): Promise<TransactionOutcome> {
  removePendingMarker(ctx.layout);
  // After the marker is gone, nothing here can undo the commit: failures are only logged.
  await runBundleHook(ctx, ctx.layout.versionDir(marker.to), 'post-commit', marker.from, marker.to).catch((err) =>
    ctx.logger.log('warn', { event: 'hook', message: `post-commit: ${(err as Error).message}` }));
  await ctx.containers?.commit(marker.to).catch((err) =>
    ctx.logger.log('warn', { event: 'containers', message: `cleaning up old containers: ${(err as Error).message}` }));
  pruneVersions(ctx);
  const durationMs = ctx.now().getTime() - Date.parse(marker.startedAt);
  return { result: 'committed', from: marker.from, to: marker.to, reason, durationMs };
}

/** SPEC host-layout.md#kept-versions: current, previous, and the `keep` newest good versions. */
export function pruneVersions(ctx: MachineContext): string[] {
  const kept = keptVersions({
    current: readVersionLink(ctx.layout.current),
    previous: readVersionLink(ctx.layout.previous),
    installed: installedVersions(ctx),
    bad: readHostState(ctx.layout).bad,
    keep: ctx.config.keep,
  });
  const pruned = installedVersions(ctx).filter((v) => !kept.has(v)).sort();
  for (const version of pruned) {
    rmSync(ctx.layout.versionDir(version), { recursive: true, force: true });
    rmSync(ctx.layout.artifactsDir(version), { recursive: true, force: true });
  }
  if (pruned.length > 0) ctx.logger.log('info', { event: 'prune', message: `pruned ${pruned.join(', ')}` });
  return pruned;
}
