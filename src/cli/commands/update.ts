import { wantsJson, type Command } from '../context.js';
import { parseFlags } from '../parse-flags.js';
import { withMachine, renderOutcome, loadHostConfig } from '../host-command.js';
import { runUpdate } from '../../machine/run-update.js';
import { progressBarFor } from '../progress.js';
import { exportSource } from '../export-source.js';

export const command: Command = async (args, cli) => {
  const { values } = parseFlags('update', args, {
    channel: { type: 'string' },
    version: { type: 'string' },
    force: { type: 'boolean', default: false },
    from: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const channel = values.channel ?? loadHostConfig(cli).channel;
  const source = exportSource(values.from);
  const outcome = await withMachine(cli, 'update', (machine) =>
    runUpdate(machine, { channel, version: values.version, force: values.force === true, mirrors: source?.mirrors }),
    { progress: progressBarFor(cli), ...(source && { client: source.client }) });
  return renderOutcome(cli, outcome, wantsJson(cli, values.json));
};
