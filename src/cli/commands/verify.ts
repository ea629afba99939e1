import { reconcileAtBoot } from '../../containers/recover-containers.js';
import { wantsJson, type Command, type CliContext } from '../context.js';
import { parseFlags } from '../parse-flags.js';
import { withMachine, renderOutcome } from '../host-command.js';
import { settlePending } from '../../machine/settle-pending.js';
import { driveTransaction } from '../../machine/drive-transaction.js';
import { inspectPendingMarker } from '../../machine/pending-marker.js';
import type { MachineContext } from '../../machine/context.js';
import type { TransactionOutcome } from '../../machine/outcome.js';
import { TideError } from '../../errors.js';

const unitName = /^[A-Za-z0-9:_.\\@-]+\.service$/;

export const command: Command = async (args, cli) => {
  const { values } = parseFlags('verify', args, {
    json: { type: 'boolean', default: false },
    'hand-off-probation': { type: 'string' },
  });
  const json = wantsJson(cli, values.json);
  const handOff = values['hand-off-probation'];
  if (handOff !== undefined && !unitName.test(handOff)) {
    throw new TideError('usage', `verify: --hand-off-probation takes a service unit name (like tide-probation.service), not ${JSON.stringify(handOff)}`);
  }
  let outcome = await settle(cli, handOff);
  if (outcome?.handedOff) {
    const started = await outcome.machine.runner.run(['systemctl', 'start', '--no-block', handOff!]);
    if (started.code !== 0) {
      // Nobody else will watch it: watch the probation in this run after all.
      const why = (started.stderr.trim().split('\n').pop() ?? '') || `exit ${started.code}`;
      outcome.machine.logger.log('warn', { event: 'verify', message: `cannot start ${handOff} (${why}); watching the probation in this run` });
      outcome = await settle(cli);
    }
  }
  // SPEC commands.md#tide-verify: without a marker, exit 0 quietly.
  if (!outcome) {
    if (json) cli.out(JSON.stringify({ result: 'nothing-pending' }));
    return 0;
  }
  return renderOutcome(cli, outcome.settled, json);
};

interface Settled {
  settled: TransactionOutcome;
  machine: MachineContext;
  /** The run stopped at probation for the --hand-off-probation unit to watch. */
  handedOff: boolean;
}

/**
 * Settle what is pending under the lock; with no marker, bring back missing containers.
 * With `handOff` (the boot unit, docs/design.md#probation) the startup check is settled
 * here, holding boot, and a probation is left to that unit: a marker already at
 * probation (a reboot during probation) is handed off as it is, so the attempt is
 * counted once, by the unit's run. The body returns the outcome itself: the run's
 * summary (the JSON `result` line, the metrics, the fleet report) is made from it.
 */
async function settle(cli: CliContext, handOff?: string): Promise<Settled | null> {
  let machine: MachineContext | undefined;
  const settled = await withMachine(cli, 'verify', async (m) => {
    machine = m;
    const file = handOff ? inspectPendingMarker(m.layout) : undefined;
    const outcome = file?.kind === 'marker' && file.marker.phase === 'probation'
      ? await driveTransaction(m, file.marker)
      : await settlePending(m);
    if (!outcome) await reconcileAtBoot(m);
    return outcome;
  }, handOff ? { probationHandOff: handOff } : {});
  if (!settled) return null;
  const handedOff = handOff !== undefined && settled.result === 'on-probation' && !machine!.interrupt.signal.aborted;
  return { settled, machine: machine!, handedOff };
}
