// The inflate worker: reads a bundle while the download is still writing it (never
// past the offset the download reported), hashes what it read, gunzips it (in the
// thread pool, so this thread is free to feed it) and sends the tar bytes to the
// extract worker in batches of 2 MiB, at most three in flight (each comes back once
// written). It decides nothing: the main thread accepts the staged tree only when
// this hash is the signed one.
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { createGunzip, type Gunzip } from 'node:zlib';
import { sizeUnits } from '../limits.js';
import { InflateSignals } from './inflate-signals.js';
import { messageOf, type ArchiveRead, type InflateJob, type RecycleMessage, type TarMessage, type WorkerOutcome } from './staging-messages.js';

// PERF-NOTES: 1 MiB reads and 256 KiB gunzip chunks cut thread-pool hand-offs 16x.
const READ_CHUNK = sizeUnits.MiB;
const GUNZIP_CHUNK = sizeUnits.MiB;
const BATCH = 2 * sizeUnits.MiB;
const BATCHES = 3;

const job = workerData as InflateJob;
const signals = new InflateSignals(job.signals);
const sendTar = (message: TarMessage, transfer: ArrayBuffer[] = []): void => job.tarPort.postMessage(message, transfer);
const report = (outcome: WorkerOutcome<ArchiveRead>): void => parentPort!.postMessage(outcome);

// Asked to stop: every wait below gives up, so that the file is closed before we go.
let stopped = false;
let wakeSender: (() => void) | undefined;
parentPort!.on('message', () => {
  stopped = true;
  wakeSender?.();
});
const checkStopped = (): void => {
  if (stopped) throw new Error('stopped');
};

/** The part while it grows; once verified it is renamed, and a part already gone is the final file. */
function openArchive(): number {
  if (signals.isComplete) return openSync(job.finalPath, 'r');
  try {
    return openSync(job.partPath, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return openSync(job.finalPath, 'r');
  }
}

const hash = createHash('sha256');
let position = 0;

/** Bytes the download has on disk; all of them once it is verified. */
const available = (): number => (signals.isComplete ? job.size : Math.min(signals.writtenBytes, job.size));

/**
 * Feeds gunzip from two read buffers in turn, never past what the download wrote;
 * a buffer is read into again only once gunzip consumed it (no garbage per read).
 */
async function inflateArchive(gunzip: Gunzip): Promise<void> {
  const buffers = [Buffer.allocUnsafeSlow(READ_CHUNK), Buffer.allocUnsafeSlow(READ_CHUNK)];
  const consumed: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
  let fd: number | undefined;
  try {
    for (let turn = 0; position < job.size; turn ^= 1) {
      // Caught up with the download: wait for the next read's worth.
      await signals.untilWritten(Math.min(position + READ_CHUNK, job.size), () => stopped);
      checkStopped();
      fd ??= openArchive();
      await consumed[turn];
      const length = Math.min(READ_CHUNK, available() - position);
      const chunk = buffers[turn]!.subarray(0, length);
      const read = readSync(fd, chunk, 0, length, position);
      // Fewer bytes than the download reported: the file was replaced under us.
      if (read !== length) throw new Error(`expected ${length} bytes at offset ${position}, found ${read}`);
      position += read;
      hash.update(chunk);
      consumed[turn] = new Promise((resolve, reject) => gunzip.write(chunk, (err) => (err ? reject(err) : resolve())));
      consumed[turn]!.catch(() => undefined); // a gunzip error also fails the pipeline, which reports it
    }
    await Promise.all(consumed);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  gunzip.end();
}

// Batches come back from the extract worker once written: with at most BATCHES
// in flight, memory stays flat and no batch is ever garbage.
const spare: ArrayBuffer[] = [];
let batchesMade = 0;
job.tarPort.on('message', (message: RecycleMessage) => {
  spare.push(message.batch);
  wakeSender?.();
});

async function nextBatch(): Promise<Buffer> {
  for (;;) {
    checkStopped();
    const batch = spare.pop();
    if (batch !== undefined) return Buffer.from(batch);
    if (batchesMade < BATCHES) {
      batchesMade += 1;
      return Buffer.allocUnsafeSlow(BATCH);
    }
    await new Promise<void>((resolve) => (wakeSender = resolve));
  }
}

/** Copies gunzip's output into batches it owns, so each is transferred, not cloned. */
function tarSender(): Writable {
  let batch: Buffer | undefined;
  let filled = 0;
  const send = (): void => {
    if (batch === undefined || filled === 0) return;
    const bytes = batch.buffer as ArrayBuffer;
    sendTar({ type: 'tar', batch: bytes, length: filled }, [bytes]);
    batch = undefined;
    filled = 0;
  };
  const take = async (chunk: Buffer): Promise<void> => {
    for (let offset = 0; offset < chunk.length;) {
      batch ??= await nextBatch();
      const copied = chunk.copy(batch, filled, offset);
      filled += copied;
      offset += copied;
      if (filled === batch.length) send();
    }
  };
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      take(chunk).then(() => callback(), callback);
    },
    final(callback) {
      send();
      callback();
    },
  });
}

try {
  const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK });
  await Promise.all([inflateArchive(gunzip), pipeline(gunzip, tarSender())]);
  sendTar({ type: 'end' });
  report({ type: 'done', value: { sha256: hash.digest('hex'), bytes: position } });
} catch (err) {
  sendTar({ type: 'failed', message: messageOf(err) });
  report({ type: 'failed', message: messageOf(err) });
}
