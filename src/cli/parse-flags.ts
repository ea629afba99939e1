// Per-command flag parsing: unknown flags are a usage error (exit 2), not a surprise.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { TideError } from '../errors.js';

export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(
  command: string,
  args: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (err) {
    throw new TideError('usage', `${command}: ${(err as Error).message}`);
  }
}
