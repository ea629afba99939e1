// SPEC commands.md#output-streams: `tide … | head -1` closes stdout early. Writing
// to it then fails with EPIPE, which Node raises as an unhandled 'error' event (a
// stack trace, exit 1). A reader that went away is not tide's failure: what would
// have been printed is dropped, and the command finishes its work (a transaction
// is never cut short by a closed pipe) and exits with its own code.

/** Write errors that only mean "nobody reads this stream any more". */
const readerGone = new Set(['EPIPE', 'ERR_STREAM_DESTROYED']);

export function ignoreClosedOutput(streams: NodeJS.WriteStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== undefined && readerGone.has(err.code)) return;
      throw err;
    });
  }
}
