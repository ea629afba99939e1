import type { Command } from '../context.js';
import { parseFlags } from '../parse-flags.js';
import { loadHostConfig } from '../host-command.js';
import { readHostState } from '../../store/host-state.js';
import { layoutFor } from '../../store/layout.js';

export const command: Command = async (args, cli) => {
  const { values } = parseFlags('history', args, { json: { type: 'boolean', default: false } });
  const config = loadHostConfig(cli);
  const { history } = readHostState(layoutFor(config.state_dir));
  if (values.json) {
    cli.out(JSON.stringify(history));
    return 0;
  }
  if (history.length === 0) {
    cli.out('no transactions yet');
    return 0;
  }
  cli.out(['TIME', 'FROM', 'TO', 'RESULT', 'REASON'].join('\t'));
  for (const h of history) cli.out([h.time, h.from ?? '-', h.to, h.result, h.reason ?? ''].join('\t'));
  return 0;
};
