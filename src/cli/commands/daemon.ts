import type { Command } from '../context.js';
import { parseFlags } from '../parse-flags.js';
import { loadHostConfig } from '../host-command.js';
import { isTideError } from '../../errors.js';
import { readMachineId } from '../../plan/rollout.js';
import { daemonSchedule } from '../../daemon/schedule.js';
import { runDaemon } from '../../daemon/run-daemon.js';
import { daemonRun, reconcilePass } from '../../daemon/daemon-run.js';

/** `tide daemon`: runs until SIGTERM/SIGINT, then exits 0 once the run in progress is settled. */
export const command: Command = async (args, cli) => {
  parseFlags('daemon', args, {});
  const config = loadHostConfig(cli);
  let schedule;
  try {
    schedule = daemonSchedule(config.schedule, readMachineId(config.machine_id), config.app);
  } catch (err) {
    throw isTideError(err) ? err.at({ file: config.configPath }) : err;
  }
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    const again = stop.signal.aborted;
    cli.logger.log('warn', { event: 'signal', app: config.app, message: again ? `${signal} received again: still settling the run in progress` : `${signal} received: stopping after the run in progress` });
    stop.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await runDaemon({
      app: config.app,
      schedule,
      logger: cli.logger,
      stop: stop.signal,
      run: (kind, run, interrupt) => daemonRun({ config, logger: cli.logger, schedule, interrupt }, kind, run),
      ...(config.container.length > 0 && { reconcile: { intervalMs: config.reconcile.interval, pass: () => reconcilePass(config, cli.logger) } }),
    });
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
  return 0;
};
