// SPEC commands.md#status-json: reads the state dir only: no network, no lock, fast
// start (no got, openpgp, zod or TOML parser: see status-config.ts).
import { wantsJson, type Command } from '../context.js';
import { parseFlags } from '../parse-flags.js';
import { loadStatusConfig } from '../status-config.js';
import { configPathFrom } from '../../config/config-path.js';
import { readHostStatus } from '../../store/host-status.js';
import { alignedTable } from '../aligned-table.js';
import { readContainerStatus, type ContainerStatus } from '../../containers/container-status.js';

/** One row per container, in start order; the last probe results of its stage. */
function containerTable(containers: ContainerStatus[]): string {
  const rows: string[][] = [];
  for (const c of containers) {
    const image = c.runningImage && c.runningImage !== c.image ? `${c.runningImage} (wants ${c.image})` : c.image;
    const probes = c.probes.map((p) => `${p.probe}: ${p.ok ? 'ok' : p.detail}`).join('; ') || '(none yet)';
    rows.push([c.name, c.stage, image, c.state, c.restarts === null ? '-' : String(c.restarts), c.health, probes]);
  }
  return alignedTable(['CONTAINER', 'STAGE', 'IMAGE', 'STATE', 'RESTARTS', 'HEALTH', 'LAST PROBE'], rows).join('\n');
}

export const command: Command = async (args, cli) => {
  const { values } = parseFlags('status', args, { json: { type: 'boolean', default: false } });
  const config = await loadStatusConfig(configPathFrom(cli.configFlag));
  const status = await readHostStatus(config);
  // SPEC commands.md#status-json: `containers` is added only on hosts that have some.
  const containers = await readContainerStatus(config.state_dir);
  if (wantsJson(cli, values.json)) {
    cli.out(JSON.stringify(containers ? { ...status, containers } : status));
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
    ...(containers ? ['', containerTable(containers)] : []),
  ].join('\n'));
  return 0;
};
