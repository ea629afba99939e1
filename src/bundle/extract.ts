// Stages a bundle: unpacks a hash-verified .tar.gz into a fresh staging directory,
// refusing it whole at the first entry that breaks a rule (SPEC Bundle). We write
// every entry ourselves, after the policy accepted its header: directories 0755,
// files created exclusively without following links and with their exact mode,
// symlinks as they are. On any failure the staging directory is removed entirely.
import {
  chmodSync, chownSync, closeSync, constants, fchmodSync, fchownSync, lchownSync,
  mkdirSync, openSync, rmSync, symlinkSync, writeSync,
} from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { TideError } from '../errors.js';
import type { CheckedEntry } from './policy.js';
import { readBundleArchive, type ArchiveInput, type BundleTotals, type EntrySink } from './read-archive.js';

/**
 * The archive: `archivePath`, a .tar.gz already checked against the manifest's size
 * and sha256, or `tarChunks`, its tar bytes gunzipped off the main thread while it
 * downloads (see extract-while-downloading.ts: such a tree counts only once the bytes
 * read are proven to be the signed ones).
 */
export type ExtractBundleOptions = ArchiveInput & {
  /** Must not exist; created 0755 here, removed again on any failure. */
  stagingDir: string;
  /** SPEC Config: max_unpacked. */
  maxUnpacked: number;
  /** SPEC Bundle: 100 000 by default; injectable for tests. */
  maxEntries?: number;
  /** SPEC Bundle: installed files belong to root, or to the configured owner. */
  owner?: { uid: number; gid: number };
  signal?: AbortSignal;
};

// O_EXCL refuses anything already there (a symlink included); O_NOFOLLOW is the belt to its braces.
const CREATE_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Writes accepted entries under the staging directory; it never follows a symlink. */
class StagingWriter implements EntrySink {
  // Directories that exist, by bundle path; the policy guarantees none is a symlink.
  private readonly directories = new Set<string>(['.']);
  private file: { fd: number; entry: CheckedEntry } | undefined;

  constructor(private readonly root: string, private readonly owner?: { uid: number; gid: number }) {}

  begin(entry: CheckedEntry): void {
    this.writing(entry, () => {
      this.ensureDirectory(posix.dirname(entry.path));
      const target = join(this.root, entry.path);
      if (entry.kind === 'directory') this.ensureDirectory(entry.path);
      else if (entry.kind === 'symlink') {
        symlinkSync(entry.linkpath!, target);
        if (this.owner) lchownSync(target, this.owner.uid, this.owner.gid);
      } else {
        this.file = { fd: openSync(target, CREATE_FILE, entry.mode), entry };
      }
    });
  }

  data(chunk: Buffer): void {
    const file = this.file!;
    this.writing(file.entry, () => {
      let offset = 0;
      while (offset < chunk.length) offset += writeSync(file.fd, chunk, offset, chunk.length - offset);
    });
  }

  end(entry: CheckedEntry): void {
    if (entry.kind !== 'file') return;
    const { fd } = this.file!;
    this.writing(entry, () => {
      fchmodSync(fd, entry.mode); // the mode the bundle says, whatever the umask
      if (this.owner) fchownSync(fd, this.owner.uid, this.owner.gid);
    });
    this.closeFile();
  }

  closeFile(): void {
    if (this.file === undefined) return;
    const { fd } = this.file;
    this.file = undefined;
    closeSync(fd);
  }

  /** Explicit directories and the implicit parents of any entry are 0755 (SPEC Bundle). */
  private ensureDirectory(path: string): void {
    if (this.directories.has(path)) return;
    this.ensureDirectory(posix.dirname(path));
    const target = join(this.root, path);
    mkdirSync(target, { mode: 0o755 });
    chmodSync(target, 0o755);
    if (this.owner) chownSync(target, this.owner.uid, this.owner.gid);
    this.directories.add(path);
  }

  private writing(entry: CheckedEntry, write: () => void): void {
    try {
      write();
    } catch (err) {
      if (err instanceof TideError) throw err;
      const message = err instanceof Error ? err.message : String(err);
      throw new TideError('internal', `could not stage entry: ${message}`, { entry: entry.path }, { cause: err });
    }
  }
}

function createStagingDir(stagingDir: string, owner?: { uid: number; gid: number }): void {
  mkdirSync(dirname(stagingDir), { recursive: true, mode: 0o755 });
  try {
    mkdirSync(stagingDir, { mode: 0o755 });
  } catch (err) {
    const found = (err as NodeJS.ErrnoException).code === 'EEXIST' ? 'it already exists' : String(err);
    throw new TideError('internal', `expected to create a fresh staging directory, found ${found}`, { file: stagingDir }, { cause: err });
  }
  chmodSync(stagingDir, 0o755);
  if (owner) chownSync(stagingDir, owner.uid, owner.gid);
}

/** Failures arrive as TideErrors from the reader; anything else is ours. */
function asExtractError(err: unknown): TideError {
  if (err instanceof TideError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new TideError('internal', `bundle extraction failed: ${message}`, {}, { cause: err });
}

/**
 * SPEC Bundle: unpack `archivePath` into `stagingDir`, or refuse it and leave no
 * `stagingDir` behind. Errors name the entry; callers add the mirror and file
 * with `err.at({ mirror, file })`.
 */
export async function extractBundle(options: ExtractBundleOptions): Promise<BundleTotals> {
  const { stagingDir, owner } = options;
  createStagingDir(stagingDir, owner);
  const writer = new StagingWriter(stagingDir, owner);
  try {
    const archive: ArchiveInput = options.tarChunks !== undefined ? { tarChunks: options.tarChunks } : { archivePath: options.archivePath };
    return await readBundleArchive({
      ...archive,
      maxUnpacked: options.maxUnpacked,
      maxEntries: options.maxEntries,
      signal: options.signal,
      sink: writer,
    });
  } catch (err) {
    try {
      writer.closeFile();
    } finally {
      rmSync(stagingDir, { recursive: true, force: true });
    }
    throw asExtractError(err);
  } finally {
    writer.closeFile();
  }
}
