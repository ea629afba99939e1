import { wantsJson, type Command } from '../context.js';
import { parseFlags } from '../parse-flags.js';
import { withMachine, renderOutcome } from '../host-command.js';
import { runManualRollback } from '../../machine/manual-rollback.js';

export const command: Command = async (args, cli) => {
  const { values } = parseFlags('rollback', args, { json: { type: 'boolean', default: false } });
  const json = wantsJson(cli, values.json);
  const outcome = await withMachine(cli, 'rollback', (machine) => runManualRollback(machine));
  if (outcome.result === 'committed' && !json) {
    cli.out(`rolled back ${outcome.from} → ${outcome.to}: ${outcome.reason}`);
    return 0;
  }
  return renderOutcome(cli, outcome, json);
};
