// One tide at a time per state dir (proper-lockfile), with the holder named in a
// side file so a second tide can say who holds it, and a lock whose holder is
// dead (kill -9) recovered at once instead of after the stale timeout, and so is a lock
// taken before this system booted (a power cut between taking the lock and naming its holder).
import lockfile from 'proper-lockfile';
import { lstatSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { TideError } from '../errors.js';
import { writeJsonAtomic } from '../store/atomic.js';
import { objectOf, readRawFile, schemaProblem } from '../store/persisted-file.js';
import { limits } from '../limits.js';
import { setTimeout as delay } from 'node:timers/promises';

/** SPEC host-layout.md#lock: the one schema of tide.lock.holder (schema 1; the oldest holders wrote none). */
const holderSchema = z.object({
  /** The holder's process id, on `host`. */
  pid: z.number().int().positive(),
  host: z.string(),
  /** The tide command holding the lock (update, verify, daemon, …). */
  command: z.string(),
  /** When it took the lock (ISO 8601). */
  since: z.string(),
});

export type LockHolder = z.infer<typeof holderSchema>;

export type ReleaseLock = () => Promise<void>;

const lockPath = (stateDir: string) => join(stateDir, 'tide.lock');
const holderPath = (stateDir: string) => join(stateDir, 'tide.lock.holder');

/** Who holds the lock: the holder, 'unknown' when the file is damaged, undefined when there is none. */
function readHolder(stateDir: string): LockHolder | 'unknown' | undefined {
  const raw = readRawFile(holderPath(stateDir));
  if (raw.kind === 'missing') return undefined;
  const { fields, reason } = objectOf(raw);
  const parsed = holderSchema.safeParse(fields);
  // SPEC host-layout.md#damaged-files: a damaged holder file never breaks the lock; it only hides who holds it.
  return reason === null && schemaProblem(fields, 1) === null && parsed.success ? parsed.data : 'unknown';
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function holderRuns(stateDir: string): boolean {
  const holder = readHolder(stateDir);
  return holder !== undefined && holder !== 'unknown' && (holder.host !== hostname() || isAlive(holder.pid));
}

async function tryLock(stateDir: string): Promise<ReleaseLock> {
  return lockfile.lock(stateDir, { lockfilePath: lockPath(stateDir), realpath: false, stale: 30_000, update: 10_000 });
}

/** SPEC design.md#probation: while the holder keeps a version on probation, an update waits (bounded by its end). */
async function lockOrWaitForProbation(stateDir: string, command: string, opts: LockOptions): Promise<ReleaseLock> {
  let told = false;
  for (;;) {
    try {
      return await tryLock(stateDir);
    } catch (err) {
      const until = waitsForProbation.has(command) && (err as NodeJS.ErrnoException).code === 'ELOCKED' ? probationHoldsUntil(stateDir) : null;
      // A dead holder's lock is recovered at once (acquireStateLock), not waited for.
      if (until === null || Date.now() > until || !holderRuns(stateDir)) throw err;
      if (!told) opts.onWait?.(`another tide keeps the running version on probation until ${new Date(until - limits.probationLockSlackMs).toISOString()}; waiting for it to end`);
      told = true;
      await delay(probationPollMs);
    }
  }
}

/** The commands that wait for a running probation instead of failing with exit 7: a new update waits for it. */
const waitsForProbation = new Set(['update', 'daemon']);

/** Poll this often while another tide holds the lock through its probation. */
const probationPollMs = 1_000;

/** When the lock holder's probation ends (with slack for its last failure's `stable`), or null when it is in none. */
function probationHoldsUntil(stateDir: string): number | null {
  const marker = readRawFile(join(stateDir, 'pending.json'));
  if (marker.kind === 'missing') return null;
  const { fields } = objectOf(marker);
  if (fields.phase !== 'probation' || typeof fields.probationUntil !== 'string') return null;
  const until = Date.parse(fields.probationUntil);
  return Number.isNaN(until) ? null : until + limits.probationLockSlackMs;
}

/**
 * When this system's init started (ms since the epoch): the kernel's boot plus PID 1's
 * start time, so a machine in a container counts its own boot. Null when /proc cannot tell.
 */
export function initStartedAtMs(): number | null {
  try {
    const uptimeS = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    const stat = readFileSync('/proc/1/stat', 'utf8');
    // Field 22 (starttime, in clock ticks of 1/100 s on Linux) is the 20th after "(comm) ".
    const startTicks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    if (!Number.isFinite(uptimeS) || !Number.isFinite(startTicks)) return null;
    return Date.now() - uptimeS * 1000 + startTicks * 10;
  } catch {
    return null;
  }
}

/** The lock directory was last touched before this system's init started: nobody alive holds it. */
function lockFromEarlierBoot(stateDir: string, startedAt: () => number | null): boolean {
  const started = startedAt();
  const touched = lstatSync(lockPath(stateDir), { throwIfNoEntry: false })?.mtimeMs;
  return started !== null && touched !== undefined && touched < started;
}

export interface LockOptions {
  /** Test hook: when this system's init started (default: from /proc). */
  initStartedAt?: () => number | null;
  /** Told once when this command waits for another tide's probation. */
  onWait?: (message: string) => void;
}

export async function acquireStateLock(stateDir: string, command: string, opts: LockOptions = {}): Promise<ReleaseLock> {
  mkdirSync(stateDir, { recursive: true, mode: 0o755 });
  let release: ReleaseLock;
  try {
    release = await lockOrWaitForProbation(stateDir, command, opts);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
    const holder = readHolder(stateDir);
    const deadHolder = holder && holder !== 'unknown' && holder.host === hostname() && !isAlive(holder.pid);
    if (deadHolder || lockFromEarlierBoot(stateDir, opts.initStartedAt ?? initStartedAtMs)) {
      // The holder died without unlocking (kill -9, power cut): its lock means nothing.
      rmSync(lockPath(stateDir), { recursive: true, force: true });
      release = await tryLock(stateDir).catch(() => { throw lockedError(stateDir, readHolder(stateDir)); });
    } else {
      throw lockedError(stateDir, holder);
    }
  }
  // A holder "file" that is a directory cannot be renamed over: remove it first.
  if (lstatSync(holderPath(stateDir), { throwIfNoEntry: false })?.isDirectory()) rmSync(holderPath(stateDir), { recursive: true, force: true });
  writeJsonAtomic(holderPath(stateDir), { schema: 1, pid: process.pid, host: hostname(), command, since: new Date().toISOString() });
  return async () => {
    rmSync(holderPath(stateDir), { force: true });
    await release().catch(() => undefined);
  };
}

function lockedError(stateDir: string, holder: LockHolder | 'unknown' | undefined): TideError {
  const who = holder === 'unknown' ? 'another tide process (holder unknown: tide.lock.holder is damaged)'
    : holder ? `pid ${holder.pid} (tide ${holder.command}, since ${holder.since})` : 'another tide process';
  return new TideError('locked', `${who} holds the lock`, { file: lockPath(stateDir) });
}

export async function withStateLock<T>(stateDir: string, command: string, body: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const release = await acquireStateLock(stateDir, command, opts);
  try {
    return await body();
  } finally {
    await release();
  }
}
