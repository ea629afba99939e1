// A worker thread of kept-file-pool.ts: copies the kept files it is sent, one batch at a
// time, synchronously (see kept-file-copy.ts for why), and answers each batch once.
import { parentPort, workerData } from 'node:worker_threads';
import { copyKeptFile, type CopyContext, type KeptFile } from './kept-file-copy.js';
import type { WorkerAnswer, WorkerSettings } from './kept-file-pool.js';

const settings = workerData as WorkerSettings;
const ctx: CopyContext = { umask: settings.umask, owner: settings.owner, buffer: Buffer.allocUnsafeSlow(settings.bufferBytes) };

parentPort!.on('message', (files: KeptFile[]) => {
  let answer: WorkerAnswer;
  try {
    answer = { results: files.map((file) => copyKeptFile(file, ctx) ?? null) };
  } catch (err) {
    // Not the kept file's fault (a full disk, a target already there): the staging fails.
    const e = err as NodeJS.ErrnoException;
    answer = { error: { message: e.message, code: e.code } };
  }
  parentPort!.postMessage(answer);
});
