// Copies kept files (kept-file-copy.ts) in a few worker threads, batches of files at a
// time: each thread makes its system calls back to back and hashes on its own core,
// while the main thread fetches the objects the kept version lacks.
import { Worker } from 'node:worker_threads';
import { sizeUnits } from '../limits.js';
import type { KeptFile, Owner } from './kept-file-copy.js';

export interface WorkerSettings {
  umask: number;
  owner?: Owner;
  bufferBytes: number;
}

/** Per file: null when copied, else why the kept file was not reused. Or the failure that stops the staging. */
export type WorkerAnswer = { results: (string | null)[] } | { error: { message: string; code?: string } };

const workerScript = new URL('./kept-file-worker.js', import.meta.url);
// Files sent to a thread at once: few enough to spread the work evenly, enough to make a message rare.
const BATCH_FILES = 16;
// Files up to this size are read whole, then written; larger ones in pieces of it.
const BUFFER_BYTES = 1 * sizeUnits.MiB;

class CopyThread {
  private readonly worker: Worker;
  private pending: { resolve: (answer: WorkerAnswer) => void; reject: (err: unknown) => void } | undefined;
  private failure: unknown;

  constructor(settings: WorkerSettings) {
    this.worker = new Worker(workerScript, { workerData: settings });
    this.worker.on('message', (answer: WorkerAnswer) => this.settle((p) => p.resolve(answer)));
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`a copy thread exited (${code})`)));
  }

  private settle(how: (p: NonNullable<CopyThread['pending']>) => void): void {
    const pending = this.pending;
    this.pending = undefined;
    if (pending) how(pending);
  }

  private fail(err: unknown): void {
    this.failure ??= err;
    this.settle((p) => p.reject(err));
  }

  copy(files: KeptFile[]): Promise<WorkerAnswer> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(files);
    });
  }

  async stop(): Promise<void> {
    this.failure ??= new Error('stopped');
    await this.worker.terminate();
  }
}

/**
 * Copy every file with `threads` threads; per file, undefined when copied, else why its kept
 * file was not reused. Throws the first failure that is not the kept file's (once all are quiet).
 */
export async function copyKeptFiles(files: readonly KeptFile[], o: { threads: number; umask: number; owner?: Owner; signal?: AbortSignal }): Promise<(string | undefined)[]> {
  const results: (string | undefined)[] = new Array(files.length);
  if (files.length === 0) return results;
  const width = Math.max(1, Math.min(o.threads, Math.ceil(files.length / BATCH_FILES)));
  const threads = Array.from({ length: width }, () => new CopyThread({ umask: o.umask, owner: o.owner, bufferBytes: BUFFER_BYTES }));
  let next = 0;
  let failure: { err: unknown } | undefined;
  const lane = async (thread: CopyThread): Promise<void> => {
    while (failure === undefined && next < files.length) {
      const start = next;
      next = Math.min(files.length, next + BATCH_FILES);
      try {
        o.signal?.throwIfAborted();
        const answer = await thread.copy(files.slice(start, next));
        if ('error' in answer) throw Object.assign(new Error(answer.error.message), { code: answer.error.code });
        answer.results.forEach((why, i) => (results[start + i] = why ?? undefined));
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  try {
    await Promise.all(threads.map(lane));
  } finally {
    await Promise.all(threads.map((t) => t.stop()));
  }
  if (failure) throw failure.err;
  return results;
}
