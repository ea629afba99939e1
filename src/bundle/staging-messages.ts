// What the threads of a streamed staging say to each other (see
// extract-while-downloading.ts): the main thread downloads; the inflate worker
// reads the part file as it grows, hashes and gunzips it; the extract worker
// checks every entry and writes the tree. Tar bytes go from the one worker to the
// other over a port of their own, in batches that travel back once written.
import type { MessagePort } from 'node:worker_threads';

export interface InflateJob {
  /** The download's part file, read as it grows. */
  partPath: string;
  /** Where the part is renamed once verified; read when the part is gone. */
  finalPath: string;
  /** The signed size: the worker reads exactly this many bytes. */
  size: number;
  /** InflateSignals' shared memory: how far the download got. */
  signals: SharedArrayBuffer;
  /** To the extract worker. */
  tarPort: MessagePort;
}

export interface ExtractJob {
  stagingDir: string;
  maxUnpacked: number;
  maxEntries?: number;
  owner?: { uid: number; gid: number };
  /** From the inflate worker. */
  tarPort: MessagePort;
}

/** Inflate worker → extract worker. */
export type TarMessage =
  | { type: 'tar'; batch: ArrayBuffer; length: number }
  | { type: 'end' }
  | { type: 'failed'; message: string };

/** Extract worker → inflate worker: a batch written, to fill again. */
export interface RecycleMessage {
  type: 'recycle';
  batch: ArrayBuffer;
}

/** Main thread → a worker: finish up (close what is open) and report. */
export interface StopMessage {
  type: 'stop';
}

/** A worker → the main thread, once. */
export type WorkerOutcome<T> = { type: 'done'; value: T } | { type: 'failed'; message: string };

/** The inflate worker's result: the archive bytes it read, hashed as read. */
export interface ArchiveRead {
  sha256: string;
  bytes: number;
}

export const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));
