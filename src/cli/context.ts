import type { Logger } from '../log/logger.js';

export type LogFormat = 'text' | 'json';

export interface CliContext {
  configFlag: string | undefined;
  logFormat: LogFormat;
  quiet: boolean;
  verbose: boolean;
  logger: Logger;
  /** stdout: command results (tables, --json). Logs go to stderr through the logger. */
  out: (line: string) => void;
}

/** A command parses its own flags, calls one library function, renders the result, returns the exit code. */
export type Command = (args: string[], ctx: CliContext) => Promise<number>;

/** SPEC commands.md#output-streams: `--json`, or `--log-format json`, where every line is JSON. */
export const wantsJson = (cli: CliContext, jsonFlag: boolean | undefined): boolean => jsonFlag === true || cli.logFormat === 'json';
