import type { Command } from '../context.js';
import { parseFlags } from '../parse-flags.js';
import { withMachine } from '../host-command.js';
import { TideError } from '../../errors.js';

export const command: Command = async (args, cli) => {
  parseFlags('recover', args, {});
  return withMachine(cli, 'recover', async (machine) => {
    if (machine.config.container.length === 0) {
      cli.out('no [[container]] is configured: nothing to recover');
      return 0;
    }
    if (!machine.containers?.reconcile) throw new TideError('internal', 'container recovery is not available in this build');
    await machine.containers.reconcile();
    return 0;
  });
};
