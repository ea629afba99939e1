import { wantsJson, type Command } from '../context.js';
import { parseFlags } from '../parse-flags.js';
import { withMachine, loadHostConfig } from '../host-command.js';
import { checkForUpdate } from '../../machine/run-update.js';
import { ExitCode } from '../../errors.js';
import { exportSource } from '../export-source.js';

export const command: Command = async (args, cli) => {
  const { values } = parseFlags('check', args, {
    channel: { type: 'string' },
    from: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const channel = values.channel ?? loadHostConfig(cli).channel;
  const source = exportSource(values.from);
  const { found, decision, current } = await withMachine(cli, 'check', (machine) =>
    checkForUpdate(machine, { channel, force: false, mirrors: source?.mirrors }), source && { client: source.client });
  const available = decision.action === 'install';
  if (wantsJson(cli, values.json)) {
    cli.out(JSON.stringify({
      channel, current, available, version: decision.version, reason: decision.reason,
      sequence: found.pointer?.sequence ?? null, expires: found.pointer?.expires ?? null,
    }));
  } else {
    cli.out(available ? `update available: ${current ?? '(nothing)'} → ${decision.version} on ${channel} (${decision.reason})` : `no update: ${decision.reason}`);
  }
  // SPEC commands.md#exit-codes: 100 = `tide check` only: an update is available.
  return available ? ExitCode.updateAvailable : ExitCode.ok;
};
