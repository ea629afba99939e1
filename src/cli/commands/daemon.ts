import type { Command } from '../context.js';
import { TideError } from '../../errors.js';

export const command: Command = async () => {
  throw new TideError('usage', 'tide daemon is not built yet: run `tide update` from the systemd timer (systemd/tide-update.timer)');
};
