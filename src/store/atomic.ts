// Crash-safe state changes: write a temp file, fsync it, rename it over the
// target, fsync the directory. A reader sees the old bytes or the new, never a mix.
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, statfsSync, symlinkSync, unlinkSync, writeSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function tempNameFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

export function writeFileAtomic(target: string, data: string | Uint8Array, mode = 0o644): void {
  const temp = tempNameFor(target);
  const fd = openSync(temp, 'wx', mode);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(temp, target);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  fsyncDir(dirname(target));
}

/**
 * The same for bytes that are streamed: `fill` writes the temp file (a path that does not
 * exist yet) and throws to refuse it; only then is it fsynced and renamed over `target`.
 * The temp file never outlives the call.
 */
export async function writeStreamAtomic(target: string, fill: (temp: string) => Promise<void>): Promise<void> {
  const temp = tempNameFor(target);
  try {
    await fill(temp);
    const handle = await open(temp, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    renameSync(temp, target);
  } finally {
    rmSync(temp, { force: true });
  }
  fsyncDir(dirname(target));
}

export function writeJsonAtomic(target: string, value: unknown, mode = 0o644): void {
  writeFileAtomic(target, JSON.stringify(value, null, 2) + '\n', mode);
}

/** Point `link` at `target` in one rename: the flip that swaps every file of the app. */
export function replaceSymlinkAtomic(link: string, target: string): void {
  const temp = tempNameFor(link);
  symlinkSync(target, temp);
  try {
    renameSync(temp, link);
  } catch (err) {
    try { unlinkSync(temp); } catch { /* already gone */ }
    throw err;
  }
  fsyncDir(dirname(link));
}

// statfs(2)'s f_type of a FUSE filesystem (linux/magic.h).
const FUSE_SUPER_MAGIC = 0x65735546;

/**
 * Does syncfs (`sync -f`) make what was written under `path` durable? On ext4, xfs and
 * btrfs it does. On FUSE it only hands the dirty pages to the daemon, which is never
 * asked to sync them (the kernel's FUSE syncfs is a no-op but for virtiofs); only an fsync
 * of each file is. Unknown counts as no.
 */
export function syncfsIsDurable(path: string): boolean {
  try {
    return statfsSync(path).type !== FUSE_SUPER_MAGIC;
  } catch {
    return false;
  }
}

/** fsync every regular file and directory under `root` (the slow way to what `sync -f` does at once). */
export function fsyncTree(root: string): void {
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) fsyncTree(path);
    else if (entry.isFile()) {
      const fd = openSync(path, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
  }
  fsyncDir(root);
}
