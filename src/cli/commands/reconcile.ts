// `tide reconcile`: one reconciler pass (what tide-reconcile.timer runs; `tide daemon`
// runs it every [reconcile] interval). A pass skipped because an update holds the
// lock is not a failure: exit 0, said in one line.
import { wantsJson, type Command } from '../context.js';
import { parseFlags } from '../parse-flags.js';
import { loadHostConfig } from '../host-command.js';
import { ExitCode } from '../../errors.js';
import { runLogger } from '../../log/logger.js';
import { createMachineContext } from '../../machine/wire-context.js';
import { writeRunMetrics } from '../../report/metrics.js';
import { reconcileOnce, type ReconcilePass } from '../../containers/reconciler.js';

export const command: Command = async (args, cli) => {
  parseFlags('reconcile', args, {});
  const json = wantsJson(cli, false);
  const config = loadHostConfig(cli);
  if (config.container.length === 0) {
    cli.out(json ? JSON.stringify({ ran: false, reason: 'no [[container]] is configured' }) : 'no [[container]] is configured: nothing to reconcile');
    return ExitCode.ok;
  }
  const logger = runLogger(cli.logger, config.app);
  const pass = await reconcileOnce(createMachineContext(config, logger));
  if (pass.ran) writeRunMetrics(config, logger);
  cli.out(json ? JSON.stringify(pass) : describePass(pass));
  return pass.ran && pass.failures.length > 0 ? ExitCode.operatorNeeded : ExitCode.ok;
};

export function describePass(pass: ReconcilePass): string {
  if (!pass.ran) return `skipped: ${pass.reason}`;
  if (pass.version === null) return 'nothing is installed yet: nothing to reconcile';
  const recreated = pass.recreated.length > 0 ? `recreated ${pass.recreated.join(', ')}` : 'nothing to recreate';
  const failed = pass.failures.length > 0 ? `; failed: ${pass.failures.join('; ')}` : '';
  return `${pass.version}: ${recreated}; ${pass.adopted.length} running container(s) adopted${failed}`;
}
