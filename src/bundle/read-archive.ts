// Reads a bundle (.tar.gz) once, start to end, and hands each entry to a sink only
// after the policy accepted its header. node-tar's Parser is used in list mode
// only: it never writes a file (its Unpack skips `..` and device entries with a
// warning, keeps setuid bits as root and leaves partial trees behind).
// Everything here is synchronous per chunk, so a refusal thrown by the policy or
// the sink stops the Parser in the middle of the chunk, before the next entry.
import { createReadStream } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { TideError } from '../errors.js';
import { limits, sizeUnits } from '../limits.js';
import { createBundlePolicy, type BundlePolicy, type CheckedEntry } from './policy.js';
import { TarLayout } from './tar-layout.js';

/** Receives the accepted entries in archive order; may throw to refuse. */
export interface EntrySink {
  begin(entry: CheckedEntry): void;
  /** A file's bytes, in order. */
  data(chunk: Buffer): void;
  end(entry: CheckedEntry): void;
}

/** Where the archive comes from: a .tar.gz file, or tar bytes already gunzipped (off the main thread). */
export type ArchiveInput = { archivePath: string; tarChunks?: undefined } | { tarChunks: AsyncIterable<Buffer>; archivePath?: undefined };

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

// PERF-NOTES: large gunzip chunks and reads cut thread-pool hand-offs by 16x.
const GUNZIP_CHUNK = 256 * sizeUnits.KiB;
const READ_CHUNK = sizeUnits.MiB;

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

/** The end of the pipeline: everything synchronous, so a refusal stops it mid-chunk. */
function bundleSink(stream: BundleStream, done: (totals: BundleTotals) => void): Writable {
  const settle = (step: () => void, callback: (err?: Error | null) => void): void => {
    try {
      step();
      callback();
    } catch (err) {
      callback(asBundleError(stream.firstFailure ?? err) as Error);
    }
  };
  return new Writable({
    highWaterMark: READ_CHUNK,
    write: (chunk: Buffer, _encoding, callback) => settle(() => stream.feed(chunk), callback),
    final: (callback) => settle(() => done(stream.finish()), callback),
  });
}

/** Tar bytes gunzipped elsewhere, fed in order; a refusal stops before the next chunk is asked for. */
async function readTarChunks(stream: BundleStream, tarChunks: AsyncIterable<Buffer>, signal?: AbortSignal): Promise<BundleTotals> {
  try {
    for await (const chunk of tarChunks) {
      signal?.throwIfAborted();
      stream.feed(chunk);
    }
    return stream.finish();
  } catch (err) {
    throw asBundleError(stream.firstFailure ?? err, signal);
  }
}

export async function readBundleArchive(options: ReadBundleOptions): Promise<BundleTotals> {
  const stream = new BundleStream(options);
  if (options.tarChunks !== undefined) return readTarChunks(stream, options.tarChunks, options.signal);
  let totals: BundleTotals | undefined;
  try {
    await pipeline(
      createReadStream(options.archivePath, { highWaterMark: READ_CHUNK }),
      createGunzip({ chunkSize: GUNZIP_CHUNK }),
      bundleSink(stream, (result) => (totals = result)),
      { signal: options.signal },
    );
  } catch (err) {
    throw asBundleError(stream.firstFailure ?? err, options.signal);
  }
  return totals!;
}
