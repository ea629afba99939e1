import type { Logger } from '../log/logger.js';

export interface CliContext {
  configFlag: string | undefined;
  logFormat: 'text' | 'json';
  quiet: boolean;
  verbose: boolean;
  logger: Logger;
  /** stdout: command results (tables, --json). Logs go to stderr through the logger. */
  out: (line: string) => void;
}

/** A command parses its own flags, calls one library function, renders the result, returns the exit code. */
export type Command = (args: string[], ctx: CliContext) => Promise<number>;
