// The `.part` file an artifact streams into. It is hashed while it grows, never
// grows past the signed size, and becomes the artifact (fsync, rename, fsync the
// directory) only when size and sha256 match. A part left by a stalled mirror is
// kept so the next attempt resumes it; the final hash protects whatever it holds.
import { createHash, type Hash } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { isTideError, TideError, type ErrorPlace } from '../errors.js';
import { fsyncDir } from '../store/atomic.js';
import { droppedBuffers } from '../system/young-garbage.js';
import type { ExpectedArtifact } from './mirror-client.js';

// Existing parts are re-hashed in reads of this size.
const rehashChunkBytes = 1024 * 1024;

export class ArtifactPart {
  readonly path: string;
  /** Bytes in the part, all of them hashed. */
  offset = 0;
  /** Bytes kept from an earlier attempt (possibly another mirror's). */
  keptBytes = 0;
  private hash: Hash = createHash('sha256');
  private closed = false;

  private constructor(
    private readonly handle: FileHandle,
    readonly dest: string,
    readonly expect: ExpectedArtifact,
    readonly where: ErrorPlace,
  ) {
    this.path = `${dest}.part`;
  }

  /** Open `dest.part`, creating it or hashing what an earlier attempt left in it. */
  static async open(dest: string, expect: ExpectedArtifact, where: ErrorPlace): Promise<ArtifactPart> {
    let handle: FileHandle;
    try {
      handle = await open(`${dest}.part`, 'r+');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      handle = await open(`${dest}.part`, 'w+', 0o644);
    }
    const part = new ArtifactPart(handle, dest, expect, where);
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
    if (this.complete && !this.matches()) await this.restart();
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
    await this.handle.truncate(0);
    this.offset = 0;
    this.keptBytes = 0;
    this.hash = createHash('sha256');
  }

  /**
   * SPEC Release manifest: never more bytes than the signed size; the chunk that would
   * pass it is not written. Written at once (into the page cache): the chunk is
   * garbage right after, and a promise per 64 KiB read cost more than the write.
   */
  append(chunk: Buffer): void {
    if (this.offset + chunk.length > this.expect.size) {
      throw new TideError('size', `expected ${this.expect.size} bytes, the mirror sent more`, this.where);
    }
    let written = 0;
    while (written < chunk.length) written += writeSync(this.handle.fd, chunk, written, chunk.length - written, this.offset + written);
    this.hash.update(chunk);
    this.offset += chunk.length;
    droppedBuffers(chunk.length);
  }

  /** Check size and hash, then make the part the artifact, durably. */
  async finish(): Promise<void> {
    if (this.offset < this.expect.size) {
      throw new TideError('size', `expected ${this.expect.size} bytes, the mirror's file ended after ${this.offset}`, this.where);
    }
    if (!this.matches()) {
      throw new TideError('hash', `expected sha256 ${this.expect.sha256}, got ${this.digest()}`, this.where);
    }
    await this.handle.sync();
    await this.close();
    await rename(this.path, this.dest);
    fsyncDir(dirname(this.dest));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }

  async discard(): Promise<void> {
    await this.close();
    await rm(this.path, { force: true });
  }
}

/** Fills a part from one mirror: resuming at `part.offset` when it can, calling `part.restart()` when it cannot. */
export type FillPart = (part: ArtifactPart) => Promise<void>;

/**
 * The shared artifact protocol of every client: open (or resume) the part, fill it,
 * verify, rename. A refusal ('hash', 'size') deletes the part; a network failure keeps it
 * (unless it is still empty) for the next attempt to resume.
 */
export async function downloadVerified(dest: string, expect: ExpectedArtifact, where: ErrorPlace, fill: FillPart): Promise<void> {
  const part = await ArtifactPart.open(dest, expect, where);
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
