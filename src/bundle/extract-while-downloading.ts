// Stage a bundle while it downloads, on three threads: this one downloads; the
// inflate worker reads the part file as it grows, hashes and gunzips it; the
// extract worker checks every entry and writes the tree into a fresh staging
// directory. The bytes are not verified yet, so the tree is only a candidate: it
// counts once the download is verified AND the inflate worker's own sha256 of
// exactly what it read is the signed one. Anything else (a mirror that failed
// half-way, a restarted part, a refusal seen in unverified bytes) removes the tree,
// and the caller extracts the verified file the ordinary way, which then has the
// final word. Nothing here ever moves a tree into versions/.
import { rmSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { MessageChannel, Worker } from 'node:worker_threads';
import { InflateSignals } from './inflate-signals.js';
import type { BundleTotals } from './read-archive.js';
import type { ArchiveRead, ExtractJob, InflateJob, StopMessage, WorkerOutcome } from './staging-messages.js';

export interface DownloadingBundle {
  /** The download's part file (`<dest>.part`). */
  partPath: string;
  /** The verified artifact, once the download renamed the part. */
  finalPath: string;
  /** SPEC Release manifest: the signed size and sha256 (lowercase hex). */
  size: number;
  sha256: string;
}

export interface ExtractWhileDownloadingOptions {
  bundle: DownloadingBundle;
  /** Must not exist; created by the extract worker, removed again unless the tree is staged. */
  stagingDir: string;
  maxUnpacked: number;
  maxEntries?: number;
  owner?: { uid: number; gid: number };
}

export type StreamedStaging = { staged: true; totals: BundleTotals } | { staged: false; reason: string };

export interface StagingWhileDownloading {
  /** Pass the download's progress: the bundle is on disk up to `offset`. */
  written(offset: number): void;
  /** After the download verified: wait for the tree, and say whether it is the signed bundle's. */
  finish(): Promise<StreamedStaging>;
  /** The download failed: stop and remove the tree. */
  abandon(): Promise<void>;
}

interface StagingThread<T> {
  outcome: Promise<T>;
  /** Ask it to finish up (it closes its files); terminate it if it does not in time. */
  stop(): Promise<void>;
}

// A stopped worker answers within a batch; this is only the bound.
const STOP_GRACE_MS = 5_000;

function startThread<T>(file: string, workerData: InflateJob | ExtractJob): StagingThread<T> {
  const worker = new Worker(new URL(file, import.meta.url), {
    workerData,
    transferList: [workerData.tarPort],
    // A small young generation: the garbage of a stream is collected soon (peak RSS).
    resourceLimits: { maxYoungGenerationSizeMb: 2 },
  });
  const outcome = new Promise<T>((resolve, reject) => {
    worker.on('message', (message: WorkerOutcome<T>) => (message.type === 'done' ? resolve(message.value) : reject(new Error(message.message))));
    worker.on('error', reject);
    worker.on('exit', () => reject(new Error('the worker stopped before it was done')));
  });
  outcome.catch(() => undefined); // the caller may stop before it asks
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      worker.postMessage({ type: 'stop' } satisfies StopMessage);
      await Promise.race([outcome.catch(() => undefined), delay(STOP_GRACE_MS, undefined, { ref: false })]);
      await worker.terminate();
    })();
    return stopping;
  };
  return { outcome, stop };
}

export function extractWhileDownloading(options: ExtractWhileDownloadingOptions): StagingWhileDownloading {
  const { bundle, stagingDir } = options;
  const signals = new InflateSignals();
  const { port1, port2 } = new MessageChannel();
  const inflater = startThread<ArchiveRead>('./inflate-worker.js', { partPath: bundle.partPath, finalPath: bundle.finalPath, size: bundle.size, signals: signals.shared, tarPort: port1 });
  const extractor = startThread<BundleTotals>('./extract-worker.js', { stagingDir, maxUnpacked: options.maxUnpacked, maxEntries: options.maxEntries, owner: options.owner, tarPort: port2 });
  const stopBoth = async (): Promise<void> => void (await Promise.all([inflater.stop(), extractor.stop()]));
  // A refusal in unverified bytes stops the reading early; the caller decides once the download is verified.
  extractor.outcome.catch(() => inflater.stop());
  const removeTree = (): void => rmSync(stagingDir, { recursive: true, force: true });
  let highestWritten = 0;
  let restarted: string | undefined;

  async function finish(): Promise<StreamedStaging> {
    signals.complete();
    try {
      const [totals, read] = await Promise.all([extractor.outcome, inflater.outcome]);
      if (restarted === undefined && read.bytes === bundle.size && read.sha256 === bundle.sha256.toLowerCase()) return { staged: true, totals };
      await stopBoth();
      removeTree();
      return { staged: false, reason: restarted ?? `the bytes extracted were not the signed ones (${read.bytes} bytes, sha256 ${read.sha256})` };
    } catch (err) {
      await stopBoth();
      removeTree();
      return { staged: false, reason: restarted ?? (err instanceof Error ? err.message : String(err)) };
    } finally {
      await stopBoth();
    }
  }

  return {
    written(offset) {
      // A part that shrank was restarted: what the worker read of it may be gone.
      if (offset < highestWritten && restarted === undefined) {
        restarted = `the download restarted its part file (${offset} < ${highestWritten} bytes)`;
        void stopBoth();
      }
      highestWritten = Math.max(offset, highestWritten);
      signals.written(offset);
    },
    finish,
    async abandon() {
      await stopBoth();
      removeTree();
    },
  };
}
