// The process-wide net under every command: an error that escapes its promise chain
// (an unhandled rejection, an uncaught exception) must still end as the one line an
// operator reads, with its own exit code — a `size` refusal is exit 3 wherever it was
// thrown — and must not leave half-staged files behind. Code that writes where a crash
// would leave garbage registers a synchronous cleanup for the time it writes there.
// What the net cannot undo is already safe: from the marker on, `tide verify` resumes.
import { exitCodeOf } from '../errors.js';

/** Gets the escaped error: a refusal may remove more than a failure worth resuming. */
type Cleanup = (err: unknown) => void;

const cleanups = new Set<Cleanup>();

/** Run `cleanup` if the process dies of an escaped error; call the result when done. */
export function cleanUpOnEscape(cleanup: Cleanup): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/** Runs every registered cleanup once (each failure ignored: the next still runs). */
export function runEscapeCleanups(err: unknown): void {
  for (const cleanup of [...cleanups]) {
    cleanups.delete(cleanup);
    try {
      cleanup(err);
    } catch {
      // Best effort: the next run clears staging anyway (settle leftovers).
    }
  }
}

let report: ((err: unknown) => void) | undefined;

/**
 * Install the net, or change how it reports: `reporter` prints the error the way the
 * command's own errors are printed (text or JSON); the process then exits with the
 * error's exit code.
 */
export function installLastResort(reporter: (err: unknown) => void): void {
  const first = report === undefined;
  report = reporter;
  if (!first) return;
  const escape = (err: unknown): void => {
    runEscapeCleanups(err);
    try {
      report?.(err);
    } finally {
      process.exit(exitCodeOf(err));
    }
  };
  process.on('unhandledRejection', escape);
  process.on('uncaughtException', escape);
}
