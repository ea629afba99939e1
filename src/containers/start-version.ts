// The `restarting` phase (and the rollback's restart): start the version stage by
// stage, the [service] restart in its stage. Without containers it is the restart alone.
import { restartArgv } from '../config/load-config.js';
import { restartService } from '../system/systemd.js';
import type { MachineContext, StageFailure } from '../machine/context.js';

export async function startVersion(ctx: MachineContext, version: string): Promise<StageFailure | null> {
  const restart = () => restartFor(ctx, version);
  return ctx.containers?.startStages ? ctx.containers.startStages(version, restart) : restart();
}

/** Why the restart failed (and whether the host, not the release, is to blame), or null. */
async function restartFor(ctx: MachineContext, version: string): Promise<StageFailure | null> {
  const argv = restartArgv(ctx.config);
  if (!argv) return null;
  ctx.logger.log('info', { event: 'restart', message: `restarting: ${argv.join(' ')}`, to: version, phase: 'restarting' });
  const outcome = await restartService(ctx.runner, argv, { env: { TIDE_VERSION: version } });
  return outcome.ok ? null : { reason: `restart failed: ${outcome.detail}`, hostFault: outcome.hostFault === true };
}
