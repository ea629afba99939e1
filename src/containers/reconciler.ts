// SPEC containers.md#the-reconciler: every `[reconcile] interval` (`tide daemon`, or
// `tide reconcile` from tide-reconcile.timer) every configured container of the
// current version must exist and run its configured image. A vanished or stopped
// one is recreated in stage order; a running one is adopted, never restarted. Never
// while an update holds the lock or is unsettled: those runs own the containers.
import { existsSync } from 'node:fs';
import { isTideError } from '../errors.js';
import { acquireStateLock } from '../machine/lock.js';
import type { MachineContext } from '../machine/context.js';
import { updateContainerRecord } from './container-record.js';

export type ReconcilePass =
  | { ran: false; reason: string }
  | { ran: true; version: string | null; recreated: string[]; adopted: string[]; failures: string[] };

export async function reconcileOnce(ctx: MachineContext): Promise<ReconcilePass> {
  let release: () => Promise<void>;
  try {
    release = await acquireStateLock(ctx.config.state_dir, 'reconcile');
  } catch (err) {
    if (!isTideError(err, 'locked')) throw err;
    return skipped(ctx, `${err.message}: an update or another command is running`);
  }
  try {
    if (existsSync(ctx.layout.pending)) return skipped(ctx, 'an update is unsettled (pending.json): tide verify or the next run settles it');
    return await pass(ctx);
  } finally {
    await release();
  }
}

function skipped(ctx: MachineContext, reason: string): ReconcilePass {
  ctx.logger.log('info', { event: 'reconcile', message: `reconcile skipped: ${reason}`, result: 'skipped' });
  return { ran: false, reason };
}

async function pass(ctx: MachineContext): Promise<ReconcilePass> {
  const report = await ctx.containers!.reconcile!({});
  const recreated = report.actions.filter((a) => a.action === 'recreated' || a.action === 'restored');
  const adopted = report.actions.filter((a) => a.action === 'adopted');
  for (const action of recreated) {
    // One JSON line per action (--log-format json): what, where, which version.
    ctx.logger.log('warn', { event: 'reconcile', message: `${action.container} (stage "${action.stage}") was missing or stopped: recreated`, container: action.container, stage: action.stage, action: action.action, to: report.version });
  }
  for (const action of adopted) {
    ctx.logger.log('debug', { event: 'reconcile', message: `${action.container} (stage "${action.stage}") runs as configured: adopted`, container: action.container, stage: action.stage, action: 'adopted', to: report.version });
  }
  for (const failure of report.failures) ctx.logger.log('error', { event: 'reconcile', message: failure, action: 'failed', to: report.version });
  updateContainerRecord(ctx.layout, (record) => {
    record.reconcile.runs += 1;
    record.reconcile.recreated += recreated.length;
    record.reconcile.adopted += adopted.length;
    record.reconcile.failures += report.failures.length;
    record.reconcile.last = ctx.now().toISOString();
  });
  return { ran: true, version: report.version, recreated: recreated.map((a) => a.container), adopted: adopted.map((a) => a.container), failures: report.failures };
}
