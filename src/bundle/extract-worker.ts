// The extract worker: takes the tar bytes the inflate worker sends and extracts
// them into the staging directory (extract.ts: every entry checked before it
// touches the disk), handing each batch back once written. The writes are the
// slow part of staging; here they hold neither the download nor the gunzip.
import { parentPort, workerData } from 'node:worker_threads';
import { extractBundle } from './extract.js';
import type { BundleTotals } from './read-archive.js';
import { messageOf, type ExtractJob, type RecycleMessage, type TarMessage, type WorkerOutcome } from './staging-messages.js';

const job = workerData as ExtractJob;
const report = (outcome: WorkerOutcome<BundleTotals>): void => parentPort!.postMessage(outcome);

const batches: Buffer[] = [];
let ended = false;
let failure: Error | undefined;
let wake: (() => void) | undefined;

job.tarPort.on('message', (message: TarMessage) => {
  if (message.type === 'tar') batches.push(Buffer.from(message.batch, 0, message.length));
  else if (message.type === 'end') ended = true;
  else failure ??= new Error(message.message);
  wake?.();
});
// Asked to stop: the next wait gives up, and the extractor removes what it wrote.
parentPort!.on('message', () => {
  failure ??= new Error('stopped');
  wake?.();
});

async function* tarChunks(): AsyncGenerator<Buffer> {
  for (;;) {
    if (failure) throw failure;
    const batch = batches.shift();
    if (batch !== undefined) {
      yield batch;
      // Written before the next was asked for. Handing it back detaches it here:
      // nothing can read it after this by mistake.
      const recycle: RecycleMessage = { type: 'recycle', batch: batch.buffer as ArrayBuffer };
      job.tarPort.postMessage(recycle, [recycle.batch]);
      continue;
    }
    if (ended) return;
    await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
  }
}

try {
  const totals = await extractBundle({
    tarChunks: tarChunks(),
    stagingDir: job.stagingDir,
    maxUnpacked: job.maxUnpacked,
    maxEntries: job.maxEntries,
    owner: job.owner,
  });
  report({ type: 'done', value: totals });
} catch (err) {
  report({ type: 'failed', message: messageOf(err) });
}
