// SPEC formats.md#the-tree-artifact: stage a release from its verified tree.json instead
// of its bundle. Unchanged files are copied (reflinked where the filesystem can, never
// hard-linked: a service may write into its own files) from a kept version, and only
// after the copy's sha256 is the one the new tree names, so a kept file edited on disk
// is never reused; the rest are fetched as objects, several at once, each inflated no
// further than its entry's size and checked against its sha256 before the tree can
// count. Entries were checked by the bundle policy when the tree was parsed; the
// staged tree is compared with tree.json before it may become a version. Nothing is
// fsynced here: the caller syncs the staging directory's filesystem once, before the
// rename that makes it a version (as for a staging from the bundle). On any failure
// the staging directory is removed and the caller falls back to the bundle.
import type { Owner } from '../system/owner.js';
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, chown, lchown, mkdir, open, rm, symlink, type FileHandle } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { TideError, type ErrorPlace } from '../errors.js';
import { limits } from '../limits.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { everyMirrorFailed } from '../mirror/fetch-from-mirrors.js';
import type { MirrorClient } from '../mirror/mirror-client.js';
import { writeAll } from '../store/write-all.js';
import { droppedBuffers } from '../system/young-garbage.js';
import type { DeltaPlan } from './delta-plan.js';
import { createStagingDir } from './extract.js';
import { objectPath, type CheckedTree, type CheckedTreeEntry } from './tree-document.js';
import { checkStagedTree } from './check-staged-tree.js';
import { copyKeptFiles } from './kept-file-pool.js';


export interface TreeStagingOptions {
  tree: CheckedTree;
  plan: DeltaPlan;
  /** Must not exist; created 0755 here, removed again on any failure. */
  stagingDir: string;
  mirrors: readonly string[];
  client: MirrorClient;
  owner?: Owner;
  logger?: Logger;
  signal?: AbortSignal;
  /** Objects fetched at once (default limits.objectFetchesAtOnce). */
  fetchesAtOnce?: number;
}

export interface TreeStagingResult {
  /** Object bytes received from mirrors (gzip, as on the wire), failed attempts included. */
  fetchedBytes: number;
  fetchedObjects: number;
  /** Bytes of files copied from the kept version after their sha256 checked out. */
  reusedBytes: number;
  reusedFiles: number;
  /** Kept files that no longer held their recorded bytes (fetched instead). */
  editedFiles: number;
}

// O_EXCL refuses anything already there (a symlink included); O_NOFOLLOW is the belt to its braces.
const CREATE_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
/** gzip's worst case is a few bytes per 16 KiB block over the data; anything beyond is not an honest object. */
export const maxObjectBytes = (size: number): number => size + Math.ceil(size / 256) + 1024;

class TreeStaging {
  private readonly umask = process.umask();
  private readonly directories = new Map<string, Promise<void>>([['.', Promise.resolve()]]);
  /** The file entries written here from checked bytes: what the final check wants of each file. */
  readonly written = new Set<CheckedTreeEntry>();
  readonly result: TreeStagingResult = { fetchedBytes: 0, fetchedObjects: 0, reusedBytes: 0, reusedFiles: 0, editedFiles: 0 };

  constructor(private readonly o: TreeStagingOptions) {}

  private get logger(): Logger {
    return this.o.logger ?? silentLogger;
  }

  /** SPEC formats.md#modes-and-owners: explicit directories and the implied parents of any entry are 0755. */
  directory(path: string): Promise<void> {
    let made = this.directories.get(path);
    if (made === undefined) {
      const target = join(this.o.stagingDir, path);
      made = this.directory(posix.dirname(path)).then(async () => {
        await mkdir(target, { mode: 0o755 });
        if (this.umask & 0o755) await chmod(target, 0o755);
        if (this.o.owner) await chown(target, this.o.owner.uid, this.o.owner.gid);
      });
      this.directories.set(path, made);
    }
    return made;
  }

  async symlink(entry: CheckedTreeEntry): Promise<void> {
    await this.directory(posix.dirname(entry.path));
    const target = join(this.o.stagingDir, entry.path);
    await symlink(entry.linkpath!, target);
    if (this.o.owner) await lchown(target, this.o.owner.uid, this.o.owner.gid);
  }

  /** Every kept file the tree can reuse, copied (kept-file-pool.ts); the others (and the edited ones) fetched meanwhile. */
  async files(entries: readonly CheckedTreeEntry[]): Promise<void> {
    await Promise.all(entries.map((entry) => this.directory(posix.dirname(entry.path))));
    const { reusable, from } = this.o.plan;
    const kept = entries.filter((entry) => reusable.has(entry.sha256!));
    const others = entries.filter((entry) => !reusable.has(entry.sha256!));
    const copies = copyKeptFiles(
      kept,
      (entry) => ({ source: join(from.dir, reusable.get(entry.sha256!)!), target: this.target(entry), size: entry.size, sha256: entry.sha256!, mode: entry.mode }),
      { umask: this.umask, owner: this.o.owner, signal: this.o.signal },
    );
    const fetches = this.fetchAll(others);
    // Both quiet before either's failure is thrown: the staging directory is removed next.
    const [copied, fetched] = await Promise.allSettled([copies, fetches]);
    if (copied.status === 'rejected') throw copied.reason;
    if (fetched.status === 'rejected') throw fetched.reason;
    const whys = copied.value;
    const edited: CheckedTreeEntry[] = [];
    kept.forEach((entry, i) => {
      const why = whys[i];
      if (why !== undefined) {
        this.edited(reusable.get(entry.sha256!)!, why);
        edited.push(entry);
        return;
      }
      this.result.reusedBytes += entry.size;
      this.result.reusedFiles += 1;
      this.written.add(entry);
    });
    await this.fetchAll(edited);
  }

  private target(entry: CheckedTreeEntry): string {
    return join(this.o.stagingDir, entry.path);
  }

  private fetchAll(entries: readonly CheckedTreeEntry[]): Promise<void> {
    return runPooled(entries, this.o.fetchesAtOnce ?? limits.objectFetchesAtOnce, async (entry) => {
      this.o.signal?.throwIfAborted();
      await this.fetchObject(entry, this.target(entry));
      this.written.add(entry);
    });
  }

  private edited(keptPath: string, why: string): void {
    this.result.editedFiles += 1;
    this.logger.log('warn', { event: 'stage', message: `not reusing ${keptPath} of ${this.o.plan.from.version}: ${why}; fetching it`, entry: keptPath });
  }

  /** The object from the first mirror whose bytes inflate to exactly the entry's. */
  private async fetchObject(entry: CheckedTreeEntry, target: string): Promise<void> {
    const path = objectPath(entry.sha256!);
    const handle = await open(target, CREATE_FILE, entry.mode);
    try {
      const errors: TideError[] = [];
      for (const mirror of this.o.mirrors) {
        try {
          await this.inflateFrom(mirror, path, entry, handle);
          this.result.fetchedObjects += 1;
          if ((entry.mode & this.umask) !== 0) await handle.chmod(entry.mode);
          if (this.o.owner) await handle.chown(this.o.owner.uid, this.o.owner.gid);
          return;
        } catch (err) {
          // Not a mirror's fault (a full disk, a bug): another mirror will not help.
          if (!(err instanceof TideError) || err.code === 'internal') throw err;
          const located = err.at({ mirror, file: path, entry: entry.path });
          errors.push(located);
          this.logger.log('warn', { event: 'download', message: `mirror ${mirror} failed for ${path}: ${located.message}`, mirror, file: path, result: located.code });
          await handle.truncate(0);
        }
      }
      throw everyMirrorFailed(errors, path).at({ entry: entry.path });
    } finally {
      await handle.close();
    }
  }

  private async inflateFrom(mirror: string, path: string, entry: CheckedTreeEntry, handle: FileHandle): Promise<void> {
    const where: ErrorPlace = { mirror, file: path };
    const body = await this.o.client.fetchObject!(mirror, path, maxObjectBytes(entry.size));
    const hash = createHash('sha256');
    let inflated = 0;
    const result = this.result;
    async function* counted(): AsyncGenerator<Buffer> {
      for await (const chunk of body.chunks) {
        result.fetchedBytes += chunk.length;
        yield chunk;
      }
    }
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        const at = inflated;
        inflated += chunk.length;
        if (inflated > entry.size) {
          done(new TideError('size', `expected the object to inflate to ${entry.size} bytes, it inflates past that`, where));
          return;
        }
        hash.update(chunk);
        writeAll(handle.fd, chunk, 0, chunk.length, at).then(() => {
          // Each object's gzip and gunzip chunks die at once: keep the young generation small (flat RSS).
          droppedBuffers(chunk.length);
          done();
        }, done);
      },
    });
    try {
      await pipeline(counted(), createGunzip(), sink);
    } catch (err) {
      throw asObjectError(err, where);
    } finally {
      body.close();
    }
    if (inflated !== entry.size) {
      throw new TideError('size', `expected the object to inflate to ${entry.size} bytes, it inflates to ${inflated}`, where);
    }
    const sha = hash.digest('hex');
    if (sha !== entry.sha256) {
      throw new TideError('hash', `expected the object to hold the bytes its name says (sha256 ${entry.sha256}), it holds sha256 ${sha}`, where);
    }
  }
}

/** zlib's failures mean the mirror served something that is not a gzip object. */
function asObjectError(err: unknown, where: ErrorPlace): unknown {
  if (err instanceof TideError) return err;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('Z_')) {
    return new TideError('hash', `expected a gzip object, found damaged bytes (${(err as Error).message})`, where);
  }
  return err;
}

/** Run `jobs` with at most `width` at once; the first failure stops new ones and is thrown once all are quiet. */
async function runPooled<T>(items: readonly T[], width: number, job: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await job(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(width, items.length)) }, lane));
  if (failure) throw failure.err;
}

/** Stage `tree` into `stagingDir` from `plan`'s kept version and the mirrors' objects; or fail leaving nothing. */
export async function stageFromTree(o: TreeStagingOptions): Promise<TreeStagingResult> {
  if (!o.client.fetchObject) throw new TideError('unreachable', 'this mirror client cannot fetch objects');
  createStagingDir(o.stagingDir, o.owner);
  const staging = new TreeStaging(o);
  try {
    const files: CheckedTreeEntry[] = [];
    for (const entry of o.tree.entries) {
      if (entry.path === '.') continue;
      if (entry.kind === 'directory') await staging.directory(entry.path);
      else if (entry.kind === 'symlink') await staging.symlink(entry);
      else files.push(entry);
    }
    await staging.files(files);
    await checkStagedTree(o.stagingDir, o.tree, staging.written);
    return staging.result;
  } catch (err) {
    await rm(o.stagingDir, { recursive: true, force: true });
    throw err;
  }
}
