// Where a command's lines go. SPEC commands.md#output-streams: with --log-format json
// every line on stdout and stderr is one JSON object (or, for a list, a JSON
// array), so a journal or a log shipper never meets a line of prose. Commands
// print their result as JSON in that mode themselves; anything that still comes
// as text (a help page) is wrapped here, line by line, rather than let through.
import type { LogFormat } from './context.js';

function isJsonLine(line: string): boolean {
  if (!/^\s*[[{]/.test(line)) return false;
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

/** A text line as a JSON log line: the same shape as the logger's (time, level, event, message). */
export const textAsJson = (message: string, event = 'output', level = 'info'): string =>
  JSON.stringify({ time: new Date().toISOString(), level, event, message });

/** stdout: one line, or several separated by newlines. */
export function stdoutFor(format: LogFormat, write: (text: string) => void = (text) => void process.stdout.write(text)): (text: string) => void {
  if (format === 'text') return (text) => write(text + '\n');
  return (text) => {
    if (isJsonLine(text)) return write(text + '\n');
    for (const line of text.split('\n')) write(textAsJson(line) + '\n');
  };
}

/**
 * Node prints its own warnings (a deprecation in a dependency) as text on stderr:
 * in JSON mode they become JSON lines too.
 */
export function warningsAsJson(): void {
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    process.stderr.write(textAsJson(`${warning.name}: ${warning.message}`, 'node-warning', 'warn') + '\n');
  });
}
