// `tide update` as one transaction: settle leftovers, find and verify the release,
// decide, stage, pre-swap hook, marker, then swap → restart → probe → commit or
// roll back. Everything that can refuse runs before the marker is written.
import { findRelease, type FoundRelease } from '../plan/find-release.js';
import { openHostTrust } from '../plan/host-trust.js';
import { decideUpdate, type UpdateDecision } from '../plan/decide-update.js';
import { inRollout } from '../plan/rollout.js';
import { readHostState, updateHostState } from '../store/host-state.js';
import { createDocumentCache } from '../store/document-cache.js';
import { readVersionLink } from '../store/version-links.js';
import { TideError } from '../errors.js';
import { newPendingMarker, writePendingMarker, type PendingMarker } from './pending-marker.js';
import { stageRelease, forgetArtifacts, bundleOf, type StagedRelease } from './stage-release.js';
import { runBundleHook } from './bundle-hooks.js';
import { repairStateFiles, settlePending } from './settle-pending.js';
import { driveTransaction } from './drive-transaction.js';
import { checkLinkPaths } from '../plan/check-link-paths.js';
import { rmSync } from 'node:fs';
import type { MachineContext } from './context.js';
import type { TransactionOutcome } from './outcome.js';

export interface UpdateRequest {
  channel: string;
  /** `--version V`: that release instead of the channel's. */
  version?: string;
  /** SPEC commands.md#tide-update: --force ignores the rollout bucket and the bad-version list, never a signature. */
  force: boolean;
  /** `--from FILE` (SPEC trust.md#offline-updates): the export file as the only mirror, instead of the config's. */
  mirrors?: string[];
}

export interface CheckResult {
  found: FoundRelease;
  decision: UpdateDecision;
  current: string | null;
}

/**
 * The fetch-and-decide half shared by `tide check` and `tide update`. Records what it
 * accepted. `beforeInstall`: the caller installs what is decided (tide update).
 */
export async function checkForUpdate(ctx: MachineContext, request: UpdateRequest, beforeInstall = false): Promise<CheckResult> {
  await repairStateFiles(ctx);
  const state = readHostState(ctx.layout);
  const find = async (freshRevocations: boolean) => {
    const trust = await openHostTrust({ config: ctx.config, layout: ctx.layout, logger: ctx.logger, now: ctx.now() }, request.channel);
    try {
      return await findRelease({
        mirrors: request.mirrors ?? ctx.config.mirrors,
        client: ctx.client,
        store: trust.store,
        saveRoot: trust.saveRoot,
        version: request.version,
        logger: ctx.logger,
        // Cheap checks: an unchanged pointer costs each mirror one conditional request. Not for an export file.
        cache: request.mirrors ? undefined : createDocumentCache(ctx.layout),
        freshRevocations,
        // SPEC formats.md#rollout-fallback: outside the bucket, the pointer's fallback may be this host's release.
        host: { machineId: ctx.machineId, app: ctx.config.app, current: readVersionLink(ctx.layout.current), force: request.force },
      });
    } finally {
      // What the store accepted (a pointer whose release is then refused included) is remembered.
      trust.persist((s) => { s.lastCheck = ctx.now().toISOString(); });
    }
  };
  let found = await find(false);
  let decision = decide(ctx, request, state.bad, found);
  // SPEC formats.md#revocations: a host never installs a revoked version. A cheap check may have
  // skipped revocations.json; nothing is installed without asking for it in this run.
  if (beforeInstall && decision.action === 'install' && !found.revocationsFresh) {
    found = await find(true);
    decision = decide(ctx, request, state.bad, found);
  }
  return { found, decision, current: readVersionLink(ctx.layout.current) };
}

function decide(ctx: MachineContext, request: UpdateRequest, bad: string[], found: FoundRelease): UpdateDecision {
  const target = found.manifest.version;
  return decideUpdate({
    target,
    current: readVersionLink(ctx.layout.current),
    revokedVersions: found.revocations.versions,
    badVersions: bad,
    inRollout: inRollout(ctx.machineId, ctx.config.app, target, found.pointer?.rollout?.percent),
    ...(found.fallback && found.pointer && { fallbackFor: found.pointer.version }),
    force: request.force,
  }, {
    // SPEC commands.md#errors-the-one-line: a refusal says where; the mirrors that served the winning pointer come first.
    mirror: found.pointer ? found.mirrors[0] : undefined,
    file: found.pointer ? `channels/${request.channel}.json` : `releases/${target}/manifest.json`,
  });
}

export async function runUpdate(ctx: MachineContext, request: UpdateRequest): Promise<TransactionOutcome> {
  const leftover = await settlePending(ctx);
  // SPEC design.md#probation: a new update waits until the running one's probation has ended;
  // when it passed, this update goes on. Any other leftover is this run's outcome.
  if (leftover && !(leftover.result === 'committed' && leftover.inProbation)) return leftover;
  const started = ctx.monotonic();
  const { found, decision, current } = await checkForUpdate(ctx, request, true).catch((err) => {
    updateHostState(ctx.layout, (s) => { s.lastResult = err instanceof TideError ? err.code : 'failed'; });
    throw err;
  });
  if (decision.action === 'none') {
    updateHostState(ctx.layout, (s) => { s.lastResult = current === decision.version ? 'up-to-date' : 'skipped'; s.lastSuccess = ctx.now().toISOString(); });
    ctx.logger.log('info', { event: 'check', message: `nothing to do: ${decision.reason}`, from: current, to: decision.version, result: 'up-to-date' });
    return { result: current === decision.version ? 'up-to-date' : 'skipped', from: current, to: decision.version, reason: decision.reason };
  }
  ctx.logger.log('info', { event: 'check', message: `installing ${decision.version} (${decision.reason})`, from: current, to: decision.version });
  const { marker, transfers } = await prepareSwap(ctx, found, current, request.channel).catch((err) => {
    updateHostState(ctx.layout, (s) => { s.lastResult = err instanceof TideError ? err.code : 'failed'; });
    throw err;
  });
  const outcome = await driveTransaction(ctx, marker);
  return { ...outcome, durationMs: Math.round(ctx.monotonic() - started), transfers };
}

/** Stage, run pre-swap, write the marker. A refusal here leaves the running version untouched. */
async function prepareSwap(ctx: MachineContext, found: FoundRelease, current: string | null, channel: string): Promise<{ marker: PendingMarker; transfers: StagedRelease['transfers'] }> {
  // Plan, then apply: what would fail only after `current` flipped is refused now.
  checkLinkPaths(ctx.config.link, ctx.layout.current);
  const staged = await stageRelease(ctx, found.manifest, found.mirrors);
  try {
    await beforeTheMarker(ctx, found, current, staged.version, staged.versionDir);
  } catch (err) {
    // Nothing was swapped: the staged version goes, whatever stopped us.
    discardStaged(ctx, staged.version);
    throw err;
  }
  const marker = newPendingMarker(
    { app: ctx.config.app, kind: 'update', from: current, to: staged.version, previousBefore: readVersionLink(ctx.layout.previous) },
    ctx.now(),
    ctx.config.health.timeout,
  );
  writePendingMarker(ctx.layout, marker);
  ctx.logger.log('info', { event: 'marker', message: `pending marker written for ${current ?? '(nothing)'} → ${staged.version} on channel ${channel}`, from: current, to: staged.version, phase: 'swapping' });
  return { marker, transfers: staged.transfers };
}

/** After staging, before the marker: SIGTERM and the pre-swap hook may still stop the update. */
async function beforeTheMarker(ctx: MachineContext, found: FoundRelease, current: string | null, version: string, versionDir: string): Promise<void> {
  ctx.crashPoint('after-staging');
  if (ctx.interrupt.signal.aborted) throw new TideError('internal', 'interrupted (SIGTERM) before the swap; nothing changed');
  const hook = await runBundleHook(ctx, versionDir, 'pre-swap', current, version);
  if (!hook.ok) {
    // Where: the release's bundle and the hook inside it (the staged copy is gone by now).
    const bundleFile = `releases/${version}/${bundleOf(found.manifest).path}`;
    throw new TideError('hook-failed', `${hook.detail}; nothing was swapped`, { file: bundleFile, entry: 'hooks/pre-swap' });
  }
}

/** Remove what staging installed, but never a version `current` or `previous` names. */
function discardStaged(ctx: MachineContext, version: string): void {
  if ([readVersionLink(ctx.layout.current), readVersionLink(ctx.layout.previous)].includes(version)) return;
  rmSync(ctx.layout.versionDir(version), { recursive: true, force: true });
  forgetArtifacts(ctx, version);
}
