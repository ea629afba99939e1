// The `.part` file an artifact streams into. It is hashed while it grows, never
// grows past the signed size, and becomes the artifact (fsync, rename, fsync the
// directory) only when size and sha256 match. A part left by a stalled mirror is
// kept so the next attempt resumes it; the final hash protects whatever it holds.
// Bytes are gathered into 512 KiB buffers and written in the thread pool, two buffers
// in turn: the thread that reads the socket only copies (a write per 64 KiB chunk
// cost that thread more than the socket did). The part itself reports how much of
// it is on disk, a truncation included, so a reader of the growing file (staging
// while downloading) is never told of bytes that are not there, or that changed.
import { createHash, type Hash } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isTideError, TideError, type ErrorPlace } from '../errors.js';
import { sizeUnits } from '../limits.js';
import { writeAll } from '../store/write-all.js';
import { fsyncDir } from '../store/atomic.js';
import { droppedBuffers } from '../system/young-garbage.js';
import type { ExpectedArtifact, ProgressListener } from './mirror-client.js';

// Existing parts are re-hashed in reads of this size.
const rehashChunkBytes = sizeUnits.MiB;
// Bytes gathered before one write; two such buffers take turns (1 MiB was no faster).
const WRITE_BYTES = 512 * sizeUnits.KiB;

export class ArtifactPart {
  readonly path: string;
  /** Bytes in the part, all of them hashed (some may still be on their way to the disk). */
  offset = 0;
  /** Bytes kept from an earlier attempt (possibly another mirror's). */
  keptBytes = 0;
  private hash: Hash = createHash('sha256');
  private closed = false;
  // The buffer being filled holds the last `filled` bytes of `offset`; the other one may be being written.
  private readonly buffers: [Buffer, Buffer] = [Buffer.allocUnsafeSlow(WRITE_BYTES), Buffer.allocUnsafeSlow(WRITE_BYTES)];
  private filling = 0;
  private filled = 0;
  private writing: Promise<void> = Promise.resolve();
  private writeFailure: unknown;

  private constructor(
    private readonly handle: FileHandle,
    readonly dest: string,
    readonly expect: ExpectedArtifact,
    readonly where: ErrorPlace,
    private readonly onDisk?: ProgressListener,
  ) {
    this.path = `${dest}.part`;
  }

  /** Open `dest.part`, creating it or hashing what an earlier attempt left in it. */
  static async open(dest: string, expect: ExpectedArtifact, where: ErrorPlace, onDisk?: ProgressListener): Promise<ArtifactPart> {
    let handle: FileHandle;
    try {
      handle = await open(`${dest}.part`, 'r+');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      handle = await open(`${dest}.part`, 'w+', 0o644);
    }
    const part = new ArtifactPart(handle, dest, expect, where, onDisk);
    try {
      await part.hashKeptBytes();
    } catch (err) {
      await part.close();
      throw err;
    }
    return part;
  }

  private async hashKeptBytes(): Promise<void> {
    const { size } = await this.handle.stat();
    // Longer than the signed size, or whole but wrong: nothing in it is worth keeping.
    if (size > this.expect.size) return this.restart();
    const buffer = Buffer.alloc(Math.min(Math.max(size, 1), rehashChunkBytes));
    while (this.offset < size) {
      const { bytesRead } = await this.handle.read(buffer, 0, Math.min(buffer.length, size - this.offset), this.offset);
      if (bytesRead === 0) break;
      this.hash.update(buffer.subarray(0, bytesRead));
      this.offset += bytesRead;
    }
    this.keptBytes = this.offset;
    if (this.complete && !this.matches()) return this.restart();
    this.onDisk?.(this.offset, this.expect.size);
  }

  get complete(): boolean {
    return this.offset === this.expect.size;
  }

  /** Whole, and the sha256 is the signed one. */
  matches(): boolean {
    return this.complete && this.digest() === this.expect.sha256.toLowerCase();
  }

  private digest(): string {
    return this.hash.copy().digest('hex');
  }

  /** Throw away what the part holds and start from byte 0. */
  async restart(): Promise<void> {
    await this.settleWrites();
    await this.handle.truncate(0);
    this.offset = 0;
    this.keptBytes = 0;
    this.filled = 0;
    this.hash = createHash('sha256');
    this.onDisk?.(0, this.expect.size);
  }

  /**
   * SPEC formats.md#size-caps: never more bytes than the signed size; the chunk that would
   * pass it is not taken. The chunk is copied: it is garbage once this returns.
   */
  async append(chunk: Buffer): Promise<void> {
    if (this.offset + chunk.length > this.expect.size) {
      throw new TideError('size', `expected ${this.expect.size} bytes, the mirror sent more`, this.where);
    }
    this.hash.update(chunk);
    for (let copied = 0; copied < chunk.length;) {
      const taken = chunk.copy(this.buffers[this.filling], this.filled, copied);
      this.filled += taken;
      this.offset += taken;
      copied += taken;
      if (this.filled === WRITE_BYTES) await this.writeBuffer();
    }
    droppedBuffers(chunk.length);
  }

  /** Hands the full buffer to the thread pool once the other one is written, and fills the other. */
  private async writeBuffer(): Promise<void> {
    await this.writing;
    if (this.writeFailure !== undefined) throw this.writeFailure;
    const buffer = this.buffers[this.filling];
    const [start, length] = [this.offset - this.filled, this.filled];
    this.writing = writeAll(this.handle.fd, buffer, 0, length, start).then(
      () => this.onDisk?.(start + length, this.expect.size),
      (err: unknown) => void (this.writeFailure = err),
    );
    this.filling ^= 1;
    this.filled = 0;
  }

  /** Everything appended is on disk (in the page cache), or the write's error is thrown. */
  private async flush(): Promise<void> {
    if (this.filled > 0) await this.writeBuffer();
    await this.writing;
    if (this.writeFailure !== undefined) throw this.writeFailure;
  }

  /** No write of ours is still running (whatever became of it). */
  private async settleWrites(): Promise<void> {
    await this.writing;
    this.writeFailure = undefined;
  }

  /** Check size and hash, then make the part the artifact (durably, unless the caller said otherwise). */
  async finish(): Promise<void> {
    await this.flush();
    if (this.offset < this.expect.size) {
      throw new TideError('size', `expected ${this.expect.size} bytes, the mirror's file ended after ${this.offset}`, this.where);
    }
    if (!this.matches()) {
      throw new TideError('hash', `expected sha256 ${this.expect.sha256}, got ${this.digest()}`, this.where);
    }
    const durable = this.expect.durable !== false;
    if (durable) await this.handle.sync();
    await this.close();
    await rename(this.path, this.dest);
    if (durable) fsyncDir(dirname(this.dest));
  }

  /** Close the part, keeping what reached it (a later attempt hashes and resumes it). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A failed write is the download's failure, already thrown by append() or finish().
    await this.flush().catch(() => undefined);
    await this.handle.close();
  }

  async discard(): Promise<void> {
    await this.settleWrites();
    this.filled = 0;
    await this.close();
    await rm(this.path, { force: true });
    this.onDisk?.(0, this.expect.size);
  }
}

/** Fills a part from one mirror: resuming at `part.offset` when it can, calling `part.restart()` when it cannot. */
export type FillPart = (part: ArtifactPart) => Promise<void>;

/**
 * The shared artifact protocol of every client: open (or resume) the part, fill it,
 * verify, rename; `onDisk` hears how much of the part is on disk (never more). A refusal ('hash', 'size') deletes the part; a network failure keeps it
 * (unless it is still empty) for the next attempt to resume.
 */
export async function downloadVerified(dest: string, expect: ExpectedArtifact, where: ErrorPlace, fill: FillPart, onDisk?: ProgressListener): Promise<void> {
  const part = await ArtifactPart.open(dest, expect, where, onDisk);
  try {
    if (!part.complete) {
      await fill(part);
      // Kept bytes may be an earlier mirror's bad ones: fetch the whole file once before blaming this mirror.
      if (part.keptBytes > 0 && part.complete && !part.matches()) {
        await part.restart();
        await fill(part);
      }
    }
    await part.finish();
  } catch (err) {
    const refused = isTideError(err, 'hash') || isTideError(err, 'size');
    if (refused || part.offset === 0) await part.discard();
    else await part.close();
    throw err;
  }
}
