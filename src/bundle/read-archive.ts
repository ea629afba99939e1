// Reads a bundle (.tar.gz) once, start to end, and hands each entry to a sink only
// after the policy accepted its header. node-tar's Parser is used in list mode
// only: it never writes a file (its Unpack skips `..` and device entries with a
// warning, keeps setuid bits as root and leaves partial trees behind).
// Parsing is synchronous per chunk, so a refusal thrown by the policy or the sink
// stops the Parser in the middle of the chunk, before the next entry. Gunzip runs in
// libuv's thread pool, fed from two reused read buffers; the sink may ask the
// reader to wait (`ready()`), so memory stays flat whatever the bundle's size.
import { closeSync, openSync, readSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, type Gunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { TideError } from '../errors.js';
import { droppedBuffers } from '../system/young-garbage.js';
import { limits, sizeUnits } from '../limits.js';
import { createBundlePolicy, type BundlePolicy, type CheckedEntry } from './policy.js';
import { TarLayout } from './tar-layout.js';

/** Receives the accepted entries in archive order; may throw to refuse. */
export interface EntrySink {
  begin(entry: CheckedEntry): void;
  /** A file's bytes, in order; the chunk is only lent (copy what is kept). */
  data(chunk: Buffer): void;
  end(entry: CheckedEntry): void;
  /** Before the next chunk: a promise to wait for (it rejects to stop the reading), or undefined to go on. */
  ready?(): Promise<void> | undefined;
}

/** Gzip bytes in order, read into the caller's buffers. */
export interface ArchiveSource {
  /** Fill `buffer` from its start; resolves to the bytes read, 0 at the end. */
  read(buffer: Buffer): Promise<number>;
}

/** Where the archive comes from: a .tar.gz file, or a source of its bytes (a download still growing). */
export type ArchiveInput = { archivePath: string; source?: undefined } | { source: ArchiveSource; archivePath?: undefined };

export type ReadBundleOptions = ArchiveInput & {
  maxUnpacked: number;
  maxEntries?: number;
  signal?: AbortSignal;
  sink: EntrySink;
};

export interface BundleTotals {
  entries: number;
  unpackedBytes: number;
}

// Large reads and gunzip chunks: few hand-offs to the thread pool per MiB.
const ARCHIVE_READ_BYTES = 512 * sizeUnits.KiB;
const GUNZIP_CHUNK = 256 * sizeUnits.KiB;

/**
 * A failure of the gzip stream or of the tar Parser means the bundle is not a
 * well-formed one; a failing read of the file itself is ours, not the bundle's;
 * an abort keeps the caller's reason when it is a TideError.
 */
function asBundleError(err: unknown, signal?: AbortSignal): unknown {
  if (err instanceof TideError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof TideError) return reason;
    const timedOut = reason instanceof Error && reason.name === 'TimeoutError';
    return new TideError(timedOut ? 'timeout' : 'internal', `reading the bundle was ${timedOut ? 'timed out' : 'aborted'}`, {}, { cause: err });
  }
  if (typeof (err as { syscall?: unknown }).syscall === 'string') {
    return new TideError('internal', `could not read the bundle: ${message}`, {}, { cause: err });
  }
  return new TideError('bundle-policy', `expected a complete gzip-compressed tar archive, found a damaged one (${message})`, {}, { cause: err });
}

/** One pass over one bundle: the layout guard, node-tar's Parser and the policy, fed chunk by chunk. */
class BundleStream {
  private readonly policy: BundlePolicy;
  private readonly layout = new TarLayout();
  private readonly parser = new Parser({ strict: true, zstd: false, brotli: false, maxMetaEntrySize: limits.maxBundleMetaEntryBytes });
  private failure: unknown;
  private sawEndOfArchive = false;
  private streamedBytes = 0;

  constructor(private readonly options: Pick<ReadBundleOptions, 'maxUnpacked' | 'maxEntries' | 'sink'>) {
    this.policy = createBundlePolicy({ maxUnpacked: options.maxUnpacked, maxEntries: options.maxEntries });
    this.parser.on('entry', this.guard((entry: ReadEntry) => this.takeEntry(entry)));
    this.parser.on('ignoredEntry', this.guard((entry: ReadEntry) => {
      throw new TideError('bundle-policy', `expected a file, directory or symlink, found an entry of type ${entry.type}`, { entry: entry.path });
    }));
    this.parser.on('error', this.guard((err: unknown) => {
      throw err;
    }));
    this.parser.on('eof', () => {
      this.sawEndOfArchive = true;
    });
  }

  feed(chunk: Buffer): void {
    const archiveBytes = this.layout.feed(chunk);
    if (archiveBytes === 0) return;
    this.parser.write(archiveBytes === chunk.length ? chunk : chunk.subarray(0, archiveBytes));
    this.throwFailure();
  }

  finish(): BundleTotals {
    this.layout.finish();
    if (this.policy.entries === 0) throw new TideError('bundle-policy', 'expected a bundle with entries, found an empty tar archive');
    this.parser.end();
    this.throwFailure();
    if (!this.sawEndOfArchive) {
      throw new TideError('bundle-policy', 'expected the tar parser to reach the end-of-archive marker too, found it did not');
    }
    return { entries: this.policy.entries, unpackedBytes: this.policy.unpackedBytes };
  }

  /** The first failure, whoever saw it first. */
  get firstFailure(): unknown {
    return this.failure;
  }

  // Listeners run inside parser.write(); a throw unwinds to feed(). The recorded
  // failure also covers any caller on the way that might swallow the throw.
  private guard<A extends unknown[]>(listener: (...args: A) => void): (...args: A) => void {
    return (...args: A): void => {
      this.throwFailure();
      try {
        listener(...args);
      } catch (err) {
        this.failure = asBundleError(err);
        throw this.failure;
      }
    };
  }

  private throwFailure(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private takeEntry(entry: ReadEntry): void {
    const { sink, maxUnpacked } = this.options;
    const checked = this.policy.check({ path: entry.path, type: entry.type, mode: entry.mode, size: entry.size, linkpath: entry.linkpath });
    sink.begin(checked);
    let entryBytes = 0;
    entry.on('end', this.guard(() => {
      if (entryBytes !== checked.size) {
        throw new TideError('bundle-policy', `expected ${checked.size} bytes, found ${entryBytes}`, { entry: entry.path });
      }
      sink.end(checked);
    }));
    if (checked.kind !== 'file') {
      entry.resume();
      return;
    }
    entry.on('data', this.guard((chunk: Buffer) => {
      entryBytes += chunk.length;
      this.streamedBytes += chunk.length;
      // The header already counted this size; this guards the bytes themselves.
      if (this.streamedBytes > maxUnpacked) {
        throw new TideError('size', `expected at most ${maxUnpacked} unpacked bytes, found more`, { entry: entry.path });
      }
      sink.data(chunk);
    }));
  }
}

/**
 * The end of the pipeline: feeds the stream, then waits while the sink is busy.
 * The feeding is queued as a microtask: gunzip hands over a chunk from inside its
 * thread-pool callback and submits the next inflate only once that returns, so
 * feeding in place would make gunzip and parsing take turns instead of overlapping.
 */
function bundleSink(stream: BundleStream, sink: EntrySink, done: (totals: BundleTotals) => void): Writable {
  const failed = (err: unknown): Error => asBundleError(stream.firstFailure ?? err) as Error;
  const take = (chunk: Buffer, callback: (err?: Error | null) => void): void => {
    try {
      stream.feed(chunk);
    } catch (err) {
      return callback(failed(err));
    }
    droppedBuffers(chunk.length); // the sink copied what it keeps
    const busy = sink.ready?.();
    if (busy === undefined) return callback();
    busy.then(() => callback(), (err: unknown) => callback(failed(err)));
  };
  return new Writable({
    // A few gunzip chunks may wait here while one is parsed (and gunzip inflates the next).
    highWaterMark: 4 * GUNZIP_CHUNK,
    write(chunk: Buffer, _encoding, callback) {
      queueMicrotask(() => take(chunk, callback));
    },
    final(callback) {
      try {
        done(stream.finish());
        callback();
      } catch (err) {
        callback(failed(err));
      }
    },
  });
}

/** One chunk into gunzip; settles once gunzip is done with it (the buffer may be reused) or gone. */
function inflate(gunzip: Gunzip, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const closed = (): void => reject(gunzip.errored ?? new Error('gunzip closed'));
    if (gunzip.destroyed) return closed();
    gunzip.once('close', closed);
    gunzip.write(chunk, (err) => {
      gunzip.off('close', closed);
      if (err) reject(err);
      else resolve();
    });
  });
}

/** Reads the source into two buffers in turn: one is read into while gunzip works on the other. */
async function feedGunzip(source: ArchiveSource, gunzip: Gunzip, signal?: AbortSignal): Promise<void> {
  const buffers = [Buffer.allocUnsafeSlow(ARCHIVE_READ_BYTES), Buffer.allocUnsafeSlow(ARCHIVE_READ_BYTES)];
  const consumed: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
  try {
    for (let turn = 0; ; turn ^= 1) {
      await consumed[turn];
      signal?.throwIfAborted();
      const bytes = await source.read(buffers[turn]!);
      if (bytes === 0) break;
      consumed[turn] = inflate(gunzip, buffers[turn]!.subarray(0, bytes));
      // Awaited only on this buffer's next turn, but gunzip may fail it sooner (the tar
      // side refused and the pipeline destroyed gunzip) while the next read still waits
      // for the download: handled now, so that failure is never an unhandled rejection.
      consumed[turn].catch(() => undefined);
    }
    await Promise.all(consumed);
    gunzip.end();
  } catch (err) {
    gunzip.destroy(err as Error);
    await Promise.allSettled(consumed); // no read into a buffer gunzip still holds
    throw err;
  }
}

/** The archive's bytes through gunzip into the stream; both sides settle before this does. */
async function readFromSource(stream: BundleStream, source: ArchiveSource, sink: EntrySink, signal?: AbortSignal): Promise<BundleTotals> {
  const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK });
  let totals: BundleTotals | undefined;
  const [gzipSide, tarSide] = await Promise.allSettled([
    feedGunzip(source, gunzip, signal),
    pipeline(gunzip, bundleSink(stream, sink, (result) => (totals = result)), { signal }),
  ]);
  // The stream's own refusal first, then what the tar side saw (a refusal ends the feeding), then the reading.
  const failure = stream.firstFailure ?? (tarSide.status === 'rejected' ? tarSide.reason : undefined) ?? (gzipSide.status === 'rejected' ? gzipSide.reason : undefined);
  if (failure !== undefined) throw asBundleError(failure, signal);
  return totals!;
}

/** A whole file, read in order. */
function fileSource(fd: number): ArchiveSource {
  let position = 0;
  return {
    read: async (buffer) => {
      const bytes = readSync(fd, buffer, 0, buffer.length, position);
      position += bytes;
      return bytes;
    },
  };
}

export async function readBundleArchive(options: ReadBundleOptions): Promise<BundleTotals> {
  const stream = new BundleStream(options);
  if (options.source !== undefined) return readFromSource(stream, options.source, options.sink, options.signal);
  let fd: number;
  try {
    fd = openSync(options.archivePath, 'r');
  } catch (err) {
    throw asBundleError(err);
  }
  try {
    return await readFromSource(stream, fileSource(fd), options.sink, options.signal);
  } finally {
    closeSync(fd);
  }
}
