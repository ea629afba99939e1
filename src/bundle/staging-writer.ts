// Writes the entries the policy accepted under the staging directory, many files at
// once. Creating a file is the slow part of staging (measured here: 0.1–0.8 ms of kernel
// time per open on ext4, more than its bytes cost), and GNU tar does it one file at a
// time; here the opens, writes and closes run in libuv's thread pool, on every core,
// while this thread parses the next entries. What stays strict and in order:
//   - the policy checks every header, in archive order, before anything is scheduled;
//   - a file is created exclusively, without following links (O_EXCL|O_NOFOLLOW),
//     only after its parent directory exists; its bytes are written in order;
//   - directories are 0755 and every file gets exactly the mode the bundle says;
//   - every file's data is fsynced as soon as it is written, so the writeback
//     overlaps the rest of the extraction instead of following it (the caller's
//     final `sync -f` is left with the metadata).
// Memory stays flat: a file's bytes are copied into a small fixed pool of blocks
// (so the gunzip buffers they came from die young), and the reader waits on
// `ready()` while too many bytes or files are waiting to be written.
import type { Owner } from '../system/owner.js';
import { chmod, chown, close, constants, fchmod, fchown, fdatasync, lchown, mkdir, open, symlink } from 'node:fs';
import { join, posix } from 'node:path';
import { promisify } from 'node:util';
import { TideError } from '../errors.js';
import { sizeUnits } from '../limits.js';
import { writeAll } from '../store/write-all.js';
import type { CheckedEntry } from './policy.js';
import type { EntrySink } from './read-archive.js';

const openFile = promisify(open);
const closeFile = promisify(close);
const chmodFile = promisify(fchmod);
const chownFile = promisify(fchown);
const syncFileData = promisify(fdatasync);
const makeDirectory = promisify(mkdir);
const chmodPath = promisify(chmod);
const chownPath = promisify(chown);
const makeSymlink = promisify(symlink);
const chownLink = promisify(lchown);

// O_EXCL refuses anything already there (a symlink included); O_NOFOLLOW is the belt to its braces.
const CREATE_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

// Files open at once: more keeps the pool no busier, and costs descriptors.
const OPEN_FILES = 16;
// The reader waits while this much is waiting to be written, or this many files.
const HIGH_WATER_BYTES = 2 * sizeUnits.MiB;
const HIGH_WATER_FILES = 256;
// The pool holds the high water mark plus one gunzip chunk (see read-archive.ts) with room to spare.
const BLOCK_BYTES = 256 * sizeUnits.KiB;
const POOL_BLOCKS = 16;


interface Block {
  bytes: Buffer;
  /** Pieces on it not yet written. */
  pieces: number;
  /** Pooled blocks go back to the pool; a block made past the pool's size is left to the collector. */
  pooled: boolean;
}

interface Piece {
  block: Block;
  start: number;
  end: number;
}

interface FileJob {
  entry: CheckedEntry;
  pieces: Piece[];
  ended: boolean;
  /** Wakes the job waiting for more pieces. */
  wake?: () => void;
}

/** Copies bytes into fixed blocks, handed back once written: no garbage per chunk. */
class BlockPool {
  private readonly free: Block[] = [];
  private made = 0;
  private current: Block | undefined;
  private used = 0;

  copy(chunk: Buffer): Piece[] {
    const pieces: Piece[] = [];
    for (let offset = 0; offset < chunk.length;) {
      if (this.current === undefined || this.used === BLOCK_BYTES) this.takeBlock();
      const block = this.current!;
      const copied = chunk.copy(block.bytes, this.used, offset);
      pieces.push({ block, start: this.used, end: this.used + copied });
      block.pieces += 1;
      this.used += copied;
      offset += copied;
    }
    return pieces;
  }

  release(piece: Piece): void {
    const { block } = piece;
    block.pieces -= 1;
    if (block.pieces === 0 && block !== this.current && block.pooled) this.free.push(block);
  }

  private takeBlock(): void {
    const previous = this.current;
    this.current = this.free.pop() ?? this.makeBlock();
    this.used = 0;
    if (previous && previous.pieces === 0 && previous.pooled) this.free.push(previous);
  }

  private makeBlock(): Block {
    // Past the pool's size only when a single chunk outgrows the slack: correct, merely garbage.
    const pooled = this.made < POOL_BLOCKS;
    if (pooled) this.made += 1;
    return { bytes: Buffer.allocUnsafeSlow(BLOCK_BYTES), pieces: 0, pooled };
  }
}

/** Names the entry in whatever an fs call threw. */
function stagingFailure(err: unknown, entry: string): TideError {
  if (err instanceof TideError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new TideError('internal', `could not stage entry: ${message}`, { entry }, { cause: err });
}

export class StagingWriter implements EntrySink {
  private readonly pool = new BlockPool();
  // Every directory made or being made, by bundle path; the policy guarantees none is a symlink.
  private readonly directories = new Map<string, Promise<void>>([['.', Promise.resolve()]]);
  private readonly waitingFiles: FileJob[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private current: FileJob | undefined;
  private openFiles = 0;
  private queuedFiles = 0;
  private pendingBytes = 0;
  private failure: TideError | undefined;
  private readers: { resolve: () => void; reject: (err: unknown) => void }[] = [];

  // open() and mkdir() take the umask's bits off a mode; a chmod is needed only when
  // the umask holds a bit the bundle asks for (umask 022 holds none of 0755 or 0644).
  private readonly umask = process.umask();

  constructor(private readonly root: string, private readonly owner?: Owner) {}

  private umaskTakes(mode: number): boolean {
    return (mode & this.umask) !== 0;
  }

  begin(entry: CheckedEntry): void {
    this.throwFailure();
    if (entry.kind === 'directory') return void this.track(this.directory(entry.path), entry.path);
    if (entry.kind === 'symlink') return void this.track(this.makeSymlink(entry), entry.path);
    const job: FileJob = { entry, pieces: [], ended: false };
    this.current = job;
    this.queuedFiles += 1;
    if (this.openFiles < OPEN_FILES) this.startFile(job);
    else this.waitingFiles.push(job);
  }

  data(chunk: Buffer): void {
    this.throwFailure();
    const job = this.current!;
    job.pieces.push(...this.pool.copy(chunk));
    this.pendingBytes += chunk.length;
    job.wake?.();
  }

  end(entry: CheckedEntry): void {
    if (entry.kind !== 'file') return;
    const job = this.current!;
    job.ended = true;
    this.current = undefined;
    job.wake?.();
  }

  /** Resolves when the reader may feed more; rejects with the first failure. Undefined: go on. */
  ready(): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pendingBytes < HIGH_WATER_BYTES && this.queuedFiles < HIGH_WATER_FILES) return undefined;
    return new Promise((resolve, reject) => this.readers.push({ resolve, reject }));
  }

  /** Every entry written (or the first failure thrown). */
  async finish(): Promise<void> {
    await this.settle();
    this.throwFailure();
  }

  /** Stop writing: what is open is closed, nothing new is created; resolves once all is quiet. */
  async abort(reason: unknown = new Error('stopped')): Promise<void> {
    this.fail(reason, this.current?.entry.path ?? '.');
    await this.settle();
  }

  private async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  private throwFailure(): void {
    if (this.failure) throw this.failure;
  }

  private fail(err: unknown, entry: string): void {
    if (this.failure) return;
    this.failure = stagingFailure(err, entry);
    for (const job of this.waitingFiles.splice(0)) this.dropFile(job);
    this.current?.wake?.();
    for (const reader of this.readers.splice(0)) reader.reject(this.failure);
  }

  private track(work: Promise<void>, entry: string): void {
    const done = work.catch((err: unknown) => this.fail(err, entry)).finally(() => this.inFlight.delete(done));
    this.inFlight.add(done);
  }

  /** SPEC formats.md#modes-and-owners: explicit directories and the implicit parents of any entry are 0755. */
  private directory(path: string): Promise<void> {
    let made = this.directories.get(path);
    if (made === undefined) {
      const target = join(this.root, path);
      made = this.directory(posix.dirname(path)).then(async () => {
        await makeDirectory(target, { mode: 0o755 });
        if (this.umaskTakes(0o755)) await chmodPath(target, 0o755);
        if (this.owner) await chownPath(target, this.owner.uid, this.owner.gid);
      });
      made.catch(() => undefined); // whoever awaits it reports the failure
      this.directories.set(path, made);
    }
    return made;
  }

  private async makeSymlink(entry: CheckedEntry): Promise<void> {
    await this.directory(posix.dirname(entry.path));
    if (this.failure) return;
    const target = join(this.root, entry.path);
    await makeSymlink(entry.linkpath!, target);
    if (this.owner) await chownLink(target, this.owner.uid, this.owner.gid);
  }

  private startFile(job: FileJob): void {
    this.openFiles += 1;
    const written = this.writeFile(job).finally(() => {
      this.openFiles -= 1;
      this.queuedFiles -= 1;
      const next = this.waitingFiles.shift();
      if (next) this.startFile(next);
      this.wakeReaders();
    });
    this.track(written, job.entry.path);
  }

  private async writeFile(job: FileJob): Promise<void> {
    const { entry } = job;
    try {
      await this.directory(posix.dirname(entry.path));
      if (this.failure) return;
      const fd = await openFile(join(this.root, entry.path), CREATE_FILE, entry.mode);
      try {
        await this.writePieces(fd, job);
        if (this.failure) return;
        if (this.umaskTakes(entry.mode)) await chmodFile(fd, entry.mode); // the mode the bundle says, whatever the umask
        if (this.owner) await chownFile(fd, this.owner.uid, this.owner.gid);
        // Crash safety: on the disk before staging ends, while the next files are still being written.
        await syncFileData(fd);
      } finally {
        await closeFile(fd);
      }
    } finally {
      // Whatever became of the file, its pieces go back to the pool.
      this.dropFile(job);
    }
  }

  /** The file's bytes in order, as they arrive, until its entry ends (or staging fails). */
  private async writePieces(fd: number, job: FileJob): Promise<void> {
    let position = 0;
    for (;;) {
      const piece = job.pieces.shift();
      if (piece) {
        await writeAll(fd, piece.block.bytes, piece.start, piece.end, position);
        position += piece.end - piece.start;
        this.releasePiece(piece);
        continue;
      }
      if (job.ended || this.failure) return;
      await new Promise<void>((resolve) => (job.wake = resolve));
      job.wake = undefined;
    }
  }

  /** A file that will not be written (staging failed): its pieces go back. */
  private dropFile(job: FileJob): void {
    for (const piece of job.pieces.splice(0)) this.releasePiece(piece);
  }

  private releasePiece(piece: Piece): void {
    this.pendingBytes -= piece.end - piece.start;
    this.pool.release(piece);
    this.wakeReaders();
  }

  private wakeReaders(): void {
    if (this.readers.length === 0 || this.pendingBytes >= HIGH_WATER_BYTES / 2 || this.queuedFiles >= HIGH_WATER_FILES / 2) return;
    for (const reader of this.readers.splice(0)) reader.resolve();
  }
}
