import { wantsJson, type Command } from '../context.js';
import { parseFlags } from '../parse-flags.js';
import { loadHostConfig } from '../host-command.js';
import { readHostState } from '../../store/host-state.js';
import { layoutFor } from '../../store/layout.js';
import { alignedTable } from '../aligned-table.js';

export const command: Command = async (args, cli) => {
  const { values } = parseFlags('history', args, { json: { type: 'boolean', default: false } });
  const config = loadHostConfig(cli);
  const { history } = readHostState(layoutFor(config.state_dir));
  if (wantsJson(cli, values.json)) {
    cli.out(JSON.stringify(history));
    return 0;
  }
  if (history.length === 0) {
    cli.out('no transactions yet');
    return 0;
  }
  // SPEC commands.md#tide-history: aligned columns (--json is the machine-readable form).
  // SPEC design.md#probation: a late rollback says so in its result column.
  const rows = history.map((h) => [h.time, h.from ?? '-', h.to, h.inProbation ? `${h.result} (in probation)` : h.result, h.reason ?? '']);
  cli.out(alignedTable(['TIME', 'FROM', 'TO', 'RESULT', 'REASON'], rows).join('\n'));
  return 0;
};
