import { wantsJson, type Command } from '../context.js';
import { parseFlags } from '../parse-flags.js';
import { renderOutcome, withMachine } from '../host-command.js';
import { ExitCode } from '../../errors.js';
import { recoverContainers } from '../../containers/recover-containers.js';

export const command: Command = async (args, cli) => {
  parseFlags('recover', args, {});
  // SPEC commands.md#output-streams: `{ version, healthy, reason }` (version null: nothing installed).
  const json = wantsJson(cli, false);
  const report = (version: string | null, healthy: boolean | null, reason: string, text = reason) =>
    cli.out(json ? JSON.stringify({ version, healthy, reason }) : text);
  return withMachine(cli, 'recover', async (machine) => {
    if (machine.config.container.length === 0) {
      report(null, null, 'no [[container]] is configured: nothing to recover');
      return ExitCode.ok;
    }
    const recovered = await recoverContainers(machine);
    const settledCode = recovered.settled ? renderOutcome(cli, recovered.settled, json) : ExitCode.ok;
    if (recovered.version === null) {
      report(null, null, 'nothing is installed yet: nothing to recover');
      return settledCode;
    }
    report(recovered.version, recovered.healthy, recovered.reason,
      `${recovered.version} ${recovered.healthy ? 'is healthy' : 'is unhealthy'} after recovery: ${recovered.reason}`);
    // SPEC commands.md#exit-codes: 6 when the recovered version is unhealthy: an operator is needed.
    return recovered.healthy ? settledCode : ExitCode.operatorNeeded;
  });
};
