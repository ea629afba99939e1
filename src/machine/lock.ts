// One tide at a time per state dir (proper-lockfile), with the holder named in a
// side file so a second tide can say who holds it, and a lock whose holder is
// dead (kill -9) recovered at once instead of after the stale timeout.
import lockfile from 'proper-lockfile';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { TideError } from '../errors.js';
import { writeJsonAtomic } from '../store/atomic.js';

export interface LockHolder {
  pid: number;
  host: string;
  command: string;
  since: string;
}

export type ReleaseLock = () => Promise<void>;

const lockPath = (stateDir: string) => join(stateDir, 'tide.lock');
const holderPath = (stateDir: string) => join(stateDir, 'tide.lock.holder');

function readHolder(stateDir: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(holderPath(stateDir), 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function tryLock(stateDir: string): Promise<ReleaseLock> {
  return lockfile.lock(stateDir, { lockfilePath: lockPath(stateDir), realpath: false, stale: 30_000, update: 10_000 });
}

export async function acquireStateLock(stateDir: string, command: string): Promise<ReleaseLock> {
  mkdirSync(stateDir, { recursive: true, mode: 0o755 });
  let release: ReleaseLock;
  try {
    release = await tryLock(stateDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
    const holder = readHolder(stateDir);
    if (holder && holder.host === hostname() && !isAlive(holder.pid)) {
      // The holder died without unlocking (kill -9, power cut): its lock means nothing.
      rmSync(lockPath(stateDir), { recursive: true, force: true });
      release = await tryLock(stateDir).catch(() => { throw lockedError(stateDir, readHolder(stateDir)); });
    } else {
      throw lockedError(stateDir, holder);
    }
  }
  writeJsonAtomic(holderPath(stateDir), { pid: process.pid, host: hostname(), command, since: new Date().toISOString() } satisfies LockHolder);
  return async () => {
    rmSync(holderPath(stateDir), { force: true });
    await release().catch(() => undefined);
  };
}

function lockedError(stateDir: string, holder: LockHolder | undefined): TideError {
  const who = holder ? `pid ${holder.pid} (tide ${holder.command}, since ${holder.since})` : 'another tide process';
  return new TideError('locked', `${who} holds the lock`, { file: lockPath(stateDir) });
}

export async function withStateLock<T>(stateDir: string, command: string, body: () => Promise<T>): Promise<T> {
  const release = await acquireStateLock(stateDir, command);
  try {
    return await body();
  } finally {
    await release();
  }
}
