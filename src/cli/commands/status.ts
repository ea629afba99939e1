// SPEC commands.md#status-json: reads the state dir only: no network, no lock, fast
// start (no got, openpgp, zod or TOML parser: see status-config.ts).
import { wantsJson, type Command } from '../context.js';
import { parseFlags } from '../parse-flags.js';
import { loadStatusConfig } from '../status-config.js';
import { configPathFrom } from '../../config/config-path.js';
import { readHostStatus } from '../../store/host-status.js';

export const command: Command = async (args, cli) => {
  const { values } = parseFlags('status', args, { json: { type: 'boolean', default: false } });
  const status = await readHostStatus(await loadStatusConfig(configPathFrom(cli.configFlag)));
  if (wantsJson(cli, values.json)) {
    cli.out(JSON.stringify(status));
    return 0;
  }
  const p = status.pending;
  const ends = p?.phase === 'probation' && p.probationUntil ? `, probation ends ${p.probationUntil}` : `, deadline ${p?.deadline ?? '(unknown)'}`;
  const pending = p ? `${p.from ?? '(nothing)'} → ${p.to ?? '(unknown)'}, phase ${p.phase}${ends}` : 'none';
  cli.out([
    `app:         ${status.app}`,
    `channel:     ${status.channel}`,
    `current:     ${status.current ?? '(none)'}`,
    `previous:    ${status.previous ?? '(none)'}`,
    `pending:     ${pending}`,
    `bad:         ${status.bad.length ? status.bad.join(', ') : '(none)'}`,
    `last check:  ${status.lastCheck ?? 'never'}`,
    `last result: ${status.lastResult ?? '(none)'}`,
    ...(status.damaged.length > 0 ? [`damaged:     ${status.damaged.join(', ')} (the next run sets them aside and rebuilds them)`] : []),
  ].join('\n'));
  return 0;
};
