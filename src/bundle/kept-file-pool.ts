// Copies kept files (kept-file-copy.ts) on this thread, a batch of files between two turns
// of the event loop, so the fetches of the objects the kept version lacks go on meanwhile.
// Measured (docs/benchmarks.md#delta-updates): synchronous calls back to back cost less
// than the same calls through libuv's pool (a thread wake-up and a context switch each),
// and worker threads cost about 9 MB of memory each for no gain on two busy cores.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { sizeUnits } from '../limits.js';
import type { Owner } from '../system/owner.js';
import { copyKeptFile, type CopyContext, type KeptFile } from './kept-file-copy.js';

// Files copied in one turn: a few milliseconds, so a fetch waits no longer than that.
const BATCH_FILES = 16;
// Files up to this size are read whole, then written; larger ones in pieces of it.
const BUFFER_BYTES = 1 * sizeUnits.MiB;

/**
 * Copy the kept file of every item; per item, undefined when copied, else why its kept file
 * was not reused. Each item becomes a KeptFile (two full paths) only in its batch, so no
 * list of them is held (memory flat in tree size, docs/benchmarks.md#delta-updates).
 * Throws the first failure that is not the kept file's (a full disk, a target already there).
 */
export async function copyKeptFiles<T extends { size: number }>(
  items: readonly T[],
  keptFileOf: (item: T) => KeptFile,
  o: { umask: number; owner?: Owner; signal?: AbortSignal },
): Promise<(string | undefined)[]> {
  const ctx: CopyContext = { umask: o.umask, owner: o.owner, buffer: Buffer.allocUnsafeSlow(Math.min(BUFFER_BYTES, items.reduce((most, f) => Math.max(most, f.size), 1))) };
  const results: (string | undefined)[] = [];
  for (let start = 0; start < items.length; start += BATCH_FILES) {
    await nextTurn();
    o.signal?.throwIfAborted();
    for (let i = start; i < Math.min(start + BATCH_FILES, items.length); i++) results.push(copyKeptFile(keptFileOf(items[i]!), ctx));
  }
  return results;
}
