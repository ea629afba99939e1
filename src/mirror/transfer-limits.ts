// Limits enforced while a body streams in, not after. Time: got has no timeout
// by default, and a socket idle timeout misses a mirror that trickles one byte a
// second, so a watchdog trips on no byte for too long (stall), the whole document
// too late (deadline), or an artifact below a minimum average rate (too slow).
// Size: a document is refused the moment it passes its cap.
import { performance } from 'node:perf_hooks';
import { TideError, type ErrorPlace } from '../errors.js';

export interface GuardLimits {
  /** No byte for this long means the mirror stalled (counted from the request's start). */
  stallTimeoutMs: number;
  /** The whole transfer must be over within this (documents). */
  deadlineMs?: number;
  /** After `minRateGraceMs`, the average rate must stay at or above this (artifacts). */
  minBytesPerSecond?: number;
  minRateGraceMs?: number;
}

export interface TransferGuard {
  /** Count bytes that arrived. */
  received(bytes: number): void;
  /** The transfer is over: stop the clock. */
  stop(): void;
}

// Checks run on a tick: often enough to be precise for the smallest limit,
// rarely enough to cost nothing on a long download.
function tickFor(limits: GuardLimits): number {
  const candidates = [limits.stallTimeoutMs, limits.deadlineMs, limits.minRateGraceMs].filter(
    (ms): ms is number => ms !== undefined && ms > 0,
  );
  return Math.min(500, Math.max(5, Math.floor(Math.min(...candidates) / 5)));
}

/** Watch a transfer; `trip` is called once, with a 'timeout' error, when a limit is broken. */
export function guardTransfer(limits: GuardLimits, where: ErrorPlace, trip: (err: TideError) => void): TransferGuard {
  const startedAt = performance.now();
  let lastByteAt = startedAt;
  let bytes = 0;
  let stopped = false;

  const broken = (now: number): string | undefined => {
    const elapsed = Math.round(now - startedAt);
    if (limits.deadlineMs !== undefined && elapsed > limits.deadlineMs) {
      return `expected the whole file within ${limits.deadlineMs} ms, still receiving after ${elapsed} ms (${bytes} bytes)`;
    }
    const idle = Math.round(now - lastByteAt);
    if (idle > limits.stallTimeoutMs) {
      return `expected a byte at least every ${limits.stallTimeoutMs} ms, got none for ${idle} ms (stalled after ${bytes} bytes)`;
    }
    const { minBytesPerSecond: minRate, minRateGraceMs: grace = 0 } = limits;
    if (minRate !== undefined && elapsed > grace) {
      const rate = Math.floor((bytes * 1000) / elapsed);
      if (rate < minRate) return `expected at least ${minRate} bytes/s after ${grace} ms, got ${rate} bytes/s (too slow)`;
    }
    return undefined;
  };

  const timer = setInterval(() => {
    const why = broken(performance.now());
    if (why === undefined) return;
    stop();
    trip(new TideError('timeout', why, where));
  }, tickFor(limits));

  function stop(): void {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
  }

  return {
    received(count) {
      bytes += count;
      lastByteAt = performance.now();
    },
    stop,
  };
}

/** SPEC formats.md#size-caps: refuse without reading further once the document passes its cap. */
export async function readCappedDocument(chunks: AsyncIterable<Buffer>, maxBytes: number, where: ErrorPlace): Promise<Buffer> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of chunks) {
    total += chunk.length;
    if (total > maxBytes) {
      throw new TideError('size', `expected a document of at most ${maxBytes} bytes, got more than ${maxBytes}`, where);
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts, total);
}

/** The chunks of a body, refused with 'size' the moment they pass `maxBytes`. */
export async function* cappedChunks(chunks: AsyncIterable<Buffer>, maxBytes: number, where: ErrorPlace): AsyncGenerator<Buffer> {
  let total = 0;
  for await (const chunk of chunks) {
    total += chunk.length;
    if (total > maxBytes) throw new TideError('size', `expected at most ${maxBytes} bytes, got more`, where);
    yield chunk;
  }
}
