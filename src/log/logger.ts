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

// The fields a log shipper groups by come first, in this order; the rest follow.
const leadingFields = ['event', 'app', 'from', 'to', 'phase', 'result', 'reason', 'durationMs', 'message'] as const;

function jsonLine(level: LogLevel, event: LogEvent): Record<string, unknown> {
  const line: Record<string, unknown> = { time: new Date().toISOString(), level };
  for (const field of leadingFields) if (event[field] !== undefined) line[field] = event[field];
  for (const [field, value] of Object.entries(event)) if (!(field in line) && value !== undefined) line[field] = value;
  return line;
}

const rank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const threshold: LogLevel = options.verbose ? 'debug' : options.quiet ? 'warn' : 'info';
  return {
    log(level, event) {
      if (rank[level] < rank[threshold]) return;
      if (options.format === 'json') {
        write(JSON.stringify(jsonLine(level, event)));
      } else {
        write(level === 'info' || level === 'debug' ? `tide: ${event.message}` : `tide: ${level}: ${event.message}`);
      }
    },
  };
}

/**
 * The logger of one run of one app: every event carries `app`, and the `from`/`to`
 * of the transaction under way (set by the last event that named both), so a log
 * shipper can group a transaction's lines without parsing messages. An event that
 * names only the version it is about (a download, a probe) keeps it as `version`.
 */
export function runLogger(logger: Logger, app: string): Logger {
  let transaction: { from: string | null; to: string | null } | undefined;
  return {
    log(level, event) {
      if ('from' in event && 'to' in event) {
        transaction = { from: event.from ?? null, to: event.to ?? null };
        logger.log(level, { ...event, app });
        return;
      }
      if (!transaction) {
        logger.log(level, { ...event, app });
        return;
      }
      const { to: version, ...rest } = event;
      logger.log(level, { ...rest, ...transaction, ...(version != null && { version }), app });
    },
  };
}
