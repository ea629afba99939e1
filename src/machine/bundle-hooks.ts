// SPEC formats.md#hooks: an optional executable hooks/pre-swap and hooks/post-commit run
// with TIDE_APP, TIDE_FROM, TIDE_TO set.
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { describeExit } from '../system/process-runner.js';
import { limits } from '../limits.js';
import type { MachineContext } from './context.js';

export type HookName = 'pre-swap' | 'post-commit';

export interface HookOutcome {
  ran: boolean;
  ok: boolean;
  detail: string;
}

export async function runBundleHook(ctx: MachineContext, versionDir: string, hook: HookName, from: string | null, to: string): Promise<HookOutcome> {
  const path = join(versionDir, 'hooks', hook);
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return { ran: false, ok: true, detail: `no hooks/${hook}` };
  }
  const env = { TIDE_APP: ctx.config.app, TIDE_FROM: from ?? '', TIDE_TO: to };
  const result = await ctx.runner.run([path], { env, cwd: versionDir, timeoutMs: limits.hookTimeoutMs });
  const ok = result.code === 0 && !result.timedOut;
  const detail = ok ? `hooks/${hook} succeeded` : `hooks/${hook} ${describeExit(result, limits.hookTimeoutMs)}`;
  ctx.logger.log(ok ? 'info' : 'warn', { event: 'hook', message: detail, to });
  return { ran: true, ok, detail };
}
