// A download's part file read while the download still writes it: never past the
// offset the part reported on disk. Once the download is verified the part is
// renamed; a part already gone is the final file.
import { closeSync, openSync, readSync } from 'node:fs';
import { TideError } from '../errors.js';
import type { ArchiveSource } from './read-archive.js';

export interface GrowingFileOptions {
  partPath: string;
  finalPath: string;
  /** The signed size: exactly this many bytes are read. */
  size: number;
}

export class GrowingFile implements ArchiveSource {
  private position = 0;
  private writtenBytes = 0;
  private complete = false;
  private stopReason: Error | undefined;
  private fd: number | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly options: GrowingFileOptions) {}

  /** The download has the file on disk up to `offset`. */
  written(offset: number): void {
    this.writtenBytes = offset;
    this.wakeReader();
  }

  /** The download is verified and whole: read on to the end. */
  finished(): void {
    this.complete = true;
    this.wakeReader();
  }

  /** The next read fails with `reason`. */
  stop(reason: Error): void {
    this.stopReason ??= reason;
    this.wakeReader();
  }

  /** Bytes read so far. */
  get bytesRead(): number {
    return this.position;
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }

  async read(buffer: Buffer): Promise<number> {
    const { size } = this.options;
    if (this.position >= size) {
      this.close();
      return 0;
    }
    // Caught up with the download: wait for a whole read's worth (or the end).
    const wanted = Math.min(this.position + buffer.length, size);
    while (!this.complete && this.writtenBytes < wanted && this.stopReason === undefined) {
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
    if (this.stopReason) throw new TideError('internal', `stopped reading the download: ${this.stopReason.message}`, { file: this.options.partPath });
    const length = Math.min(buffer.length, (this.complete ? size : Math.min(this.writtenBytes, size)) - this.position);
    this.fd ??= this.openArchive();
    const bytes = readSync(this.fd, buffer, 0, length, this.position);
    // Fewer bytes than the download reported: the file was replaced under us.
    if (bytes !== length) {
      throw new TideError('internal', `expected ${length} bytes of the download at offset ${this.position}, found ${bytes}`, { file: this.options.partPath });
    }
    this.position += bytes;
    return bytes;
  }

  private openArchive(): number {
    if (this.complete) return openSync(this.options.finalPath, 'r');
    try {
      return openSync(this.options.partPath, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      return openSync(this.options.finalPath, 'r');
    }
  }

  private wakeReader(): void {
    this.wake?.();
  }
}
