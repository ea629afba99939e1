import type { Command } from '../context.js';
import { parseFlags } from '../parse-flags.js';
import { renderOutcome, withMachine } from '../host-command.js';
import { ExitCode } from '../../errors.js';
import { recoverContainers } from '../../containers/recover-containers.js';

export const command: Command = async (args, cli) => {
  parseFlags('recover', args, {});
  return withMachine(cli, 'recover', async (machine) => {
    if (machine.config.container.length === 0) {
      cli.out('no [[container]] is configured: nothing to recover');
      return ExitCode.ok;
    }
    const recovered = await recoverContainers(machine);
    const settledCode = recovered.settled ? renderOutcome(cli, recovered.settled, false) : ExitCode.ok;
    if (recovered.version === null) {
      cli.out('nothing is installed yet: nothing to recover');
      return settledCode;
    }
    cli.out(`${recovered.version} ${recovered.healthy ? 'is healthy' : 'is unhealthy'} after recovery: ${recovered.reason}`);
    // SPEC commands.md#exit-codes: 6 when the recovered version is unhealthy: an operator is needed.
    return recovered.healthy ? settledCode : ExitCode.operatorNeeded;
  });
};
