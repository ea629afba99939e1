import { reconcileAtBoot } from '../../containers/recover-containers.js';
import { wantsJson, type Command } from '../context.js';
import { parseFlags } from '../parse-flags.js';
import { withMachine, renderOutcome } from '../host-command.js';
import { settlePending } from '../../machine/settle-pending.js';

export const command: Command = async (args, cli) => {
  const { values } = parseFlags('verify', args, { json: { type: 'boolean', default: false } });
  const json = wantsJson(cli, values.json);
  const outcome = await withMachine(cli, 'verify', async (machine) => {
    const settled = await settlePending(machine);
    if (settled) return settled;
    await reconcileAtBoot(machine);
    return null;
  });
  // SPEC commands.md#tide-verify: without a marker, exit 0 quietly.
  if (!outcome) {
    if (json) cli.out(JSON.stringify({ result: 'nothing-pending' }));
    return 0;
  }
  return renderOutcome(cli, outcome, json);
};
