// The library never prints: it reports events to a Logger the command wires up.
// Text for a terminal, or one JSON line per event for journald and log shippers.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogEvent {
  /** What happened, in the update's own words: "check", "download", "swap", "probe", "commit", … */
  event: string;
  message: string;
  app?: string;
  from?: string | null;
  to?: string | null;
  phase?: string;
  result?: string;
  reason?: string;
  durationMs?: number;
  [key: string]: unknown;
}

export interface Logger {
  log(level: LogLevel, event: LogEvent): void;
}

export const silentLogger: Logger = { log() {} };

export interface LoggerOptions {
  format: 'text' | 'json';
  quiet: boolean;
  verbose: boolean;
  write?: (line: string) => void;
}

const rank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const threshold: LogLevel = options.verbose ? 'debug' : options.quiet ? 'warn' : 'info';
  return {
    log(level, event) {
      if (rank[level] < rank[threshold]) return;
      if (options.format === 'json') {
        write(JSON.stringify({ time: new Date().toISOString(), level, ...event }));
      } else {
        write(level === 'info' || level === 'debug' ? `tide: ${event.message}` : `tide: ${level}: ${event.message}`);
      }
    },
  };
}
