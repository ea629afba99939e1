// SPEC formats.md#the-tree-artifact: a kept version's file becomes a staged file only
// when the staged bytes are exactly the ones the new tree names, so a kept file edited
// on disk is never reused. Never a hard link (a service may write into its own files):
//   - where the filesystem can (btrfs, xfs), a reflink, then the clone is hashed;
//   - elsewhere (ext4), the kept file is read once into a buffer, hashed, and only then
//     is the target created and that same buffer written: one read, one write, and the
//     bytes written are the bytes hashed (past a buffer's size, written while hashed,
//     and removed when the hash is not the tree's).
// Synchronous on purpose (kept-file-pool.ts runs it in batches): a system call costs
// only itself; through libuv's pool each one also cost a thread wake-up and a context
// switch, more than the copy (docs/benchmarks.md#delta-updates).
// The data is not fsynced here: the caller syncs the staging directory's filesystem
// once before it may become a version, as for a staging from the bundle.
import { createHash } from 'node:crypto';
import { closeSync, constants, copyFileSync, fchmodSync, fchownSync, fstatSync, openSync, readSync, rmSync, writeSync } from 'node:fs';

import type { Owner } from '../system/owner.js';

export interface KeptFile {
  /** The kept version's file. */
  source: string;
  /** The staged file to create; must not exist. */
  target: string;
  size: number;
  sha256: string;
  mode: number;
}

export interface CopyContext {
  umask: number;
  owner?: Owner;
  /** Reused for every file: hashing makes no garbage. */
  buffer: Buffer;
  /** undefined until the first reflink is tried; false once one failed (the filesystem cannot). */
  cloning?: boolean;
}

// O_EXCL refuses anything already there (a symlink included); O_NOFOLLOW is the belt to its braces.
const CREATE_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const READ_FILE = constants.O_RDONLY | constants.O_NOFOLLOW;
// A reflink or nothing: where the filesystem cannot, the buffered copy is cheaper than copy_file_range plus a second read to hash.
const CLONE_FLAGS = constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE;

/** Undefined when `file.target` now holds the kept bytes the tree names; else why the kept file is not reused. */
export function copyKeptFile(file: KeptFile, ctx: CopyContext): string | undefined {
  let source: number;
  try {
    source = openSync(file.source, READ_FILE);
  } catch {
    return 'it is not a regular file any more';
  }
  try {
    const stats = fstatSync(source);
    if (!stats.isFile() || stats.size !== file.size) return 'it is not the regular file of that size it was';
    if (ctx.cloning !== false && clone(file, ctx)) return checkClone(file, ctx);
    return copyThrough(source, file, ctx);
  } finally {
    closeSync(source);
  }
}

function clone(file: KeptFile, ctx: CopyContext): boolean {
  try {
    copyFileSync(file.source, file.target, CLONE_FLAGS);
    ctx.cloning = true;
    return true;
  } catch {
    // No reflinks here (ext4, another filesystem): copy this file and every next one.
    ctx.cloning = false;
    rmSync(file.target, { force: true });
    return false;
  }
}

/** The clone holds the tree's bytes (then gets the tree's mode), or it is removed. */
function checkClone(file: KeptFile, ctx: CopyContext): string | undefined {
  const fd = openSync(file.target, READ_FILE);
  let sha: string | undefined;
  try {
    sha = digest(fd, file.size, ctx.buffer);
    if (sha === file.sha256) finishTarget(fd, file, ctx, true);
  } finally {
    closeSync(fd);
  }
  return sha === file.sha256 ? undefined : rejected(file, sha);
}

function copyThrough(source: number, file: KeptFile, ctx: CopyContext): string | undefined {
  if (file.size <= ctx.buffer.length) {
    const bytes = ctx.buffer.subarray(0, file.size);
    if (!readFully(source, bytes)) return 'it is shorter than it was';
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (sha !== file.sha256) return `its sha256 is ${sha} now`;
    const target = openSync(file.target, CREATE_FILE, file.mode);
    try {
      writeFully(target, bytes, 0);
      finishTarget(target, file, ctx, false);
    } finally {
      closeSync(target);
    }
    return undefined;
  }
  const target = openSync(file.target, CREATE_FILE, file.mode);
  let sha: string | undefined;
  try {
    sha = digest(source, file.size, ctx.buffer, target);
    if (sha === file.sha256) finishTarget(target, file, ctx, false);
  } finally {
    closeSync(target);
  }
  return sha === file.sha256 ? undefined : rejected(file, sha);
}

function rejected(file: KeptFile, sha: string | undefined): string {
  rmSync(file.target, { force: true });
  return sha === undefined ? 'it is shorter than it was' : `its sha256 is ${sha} now`;
}

/** sha256 of the first `size` bytes of `from` (undefined if it holds fewer), written to `to` on the way. */
function digest(from: number, size: number, buffer: Buffer, to?: number): string | undefined {
  const hash = createHash('sha256');
  for (let at = 0; at < size;) {
    const read = readSync(from, buffer, 0, Math.min(buffer.length, size - at), at);
    if (read === 0) return undefined;
    const bytes = buffer.subarray(0, read);
    hash.update(bytes);
    if (to !== undefined) writeFully(to, bytes, at);
    at += read;
  }
  return hash.digest('hex');
}

/** SPEC formats.md#modes-and-owners: exactly the tree's mode, whatever the umask or the kept file's mode. */
function finishTarget(fd: number, file: KeptFile, ctx: CopyContext, cloned: boolean): void {
  // A clone has the kept file's mode; a created file the tree's, less the umask.
  if (cloned || (file.mode & ctx.umask) !== 0) fchmodSync(fd, file.mode);
  if (ctx.owner) fchownSync(fd, ctx.owner.uid, ctx.owner.gid);
}

/** Fill `bytes` from the start of the file; false if it ends first. */
function readFully(fd: number, bytes: Buffer): boolean {
  for (let at = 0; at < bytes.length;) {
    const read = readSync(fd, bytes, at, bytes.length - at, at);
    if (read === 0) return false;
    at += read;
  }
  return true;
}

function writeFully(fd: number, bytes: Buffer, position: number): void {
  for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at, bytes.length - at, position + at);
}
