// Stage a bundle while it downloads: the download writes the part file; this reads
// it as it grows (never past what the part reported on disk), gunzips it in the
// thread pool and extracts it into a fresh staging directory, in the same pass. The
// bytes are not verified yet, so the tree is only a candidate: it counts once the
// download verified the file (size and sha256) AND this read every byte of it
// without the part ever shrinking under it. Why that is the proof: the part is
// written by this process alone (under the update lock), it hashes exactly the
// bytes it writes, and it reports every truncation (a restart, another mirror).
// Anything else (a mirror that failed half-way, a restarted part, a refusal seen in
// unverified bytes) removes the tree, and the caller extracts the verified file the
// ordinary way, which then has the final word. Nothing here moves a tree into versions/.
import { rmSync } from 'node:fs';
import { extractBundle } from './extract.js';
import { GrowingFile } from './growing-file.js';
import type { BundleTotals } from './read-archive.js';
import type { CheckedTree } from './tree-document.js';

export interface DownloadingBundle {
  /** The download's part file (`<dest>.part`). */
  partPath: string;
  /** The verified artifact, once the download renamed the part. */
  finalPath: string;
  /** SPEC formats.md#artifact-paths: the signed size. */
  size: number;
}

export interface ExtractWhileDownloadingOptions {
  bundle: DownloadingBundle;
  /** Must not exist; created here, removed again unless the tree is staged. */
  stagingDir: string;
  maxUnpacked: number;
  maxEntries?: number;
  owner?: { uid: number; gid: number };
  /** The release's verified tree: the bundle must agree with it (extract.ts). */
  tree?: CheckedTree;
}

export type StreamedStaging = { staged: true; totals: BundleTotals } | { staged: false; reason: string };

export interface StagingWhileDownloading {
  /** Pass the download's progress: the bundle is on disk up to `offset`. */
  written(offset: number): void;
  /** Only once the download verified the file: wait for the tree, and say whether it is the file's. */
  finish(): Promise<StreamedStaging>;
  /** The download failed: stop and remove the tree. */
  abandon(): Promise<void>;
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export function extractWhileDownloading(options: ExtractWhileDownloadingOptions): StagingWhileDownloading {
  const { bundle, stagingDir } = options;
  const file = new GrowingFile(bundle);
  // Removes the tree itself on any failure.
  const extraction = extractBundle({ source: file, stagingDir, maxUnpacked: options.maxUnpacked, maxEntries: options.maxEntries, owner: options.owner, tree: options.tree });
  extraction.catch(() => undefined); // the caller may abandon before it asks
  let highestWritten = 0;
  let restarted: string | undefined;

  async function finish(): Promise<StreamedStaging> {
    file.finished();
    try {
      const totals = await extraction;
      if (restarted === undefined && file.bytesRead === bundle.size) return { staged: true, totals };
      rmSync(stagingDir, { recursive: true, force: true });
      return { staged: false, reason: restarted ?? `read ${file.bytesRead} of the bundle's ${bundle.size} bytes` };
    } catch (err) {
      return { staged: false, reason: restarted ?? messageOf(err) };
    } finally {
      file.close();
    }
  }

  return {
    written(offset) {
      // A part that shrank was truncated (a restart, another mirror): what was read of it may be gone.
      if (offset < highestWritten && restarted === undefined) {
        restarted = `the download restarted its part file (${offset} < ${highestWritten} bytes)`;
        file.stop(new Error(restarted));
      }
      highestWritten = Math.max(offset, highestWritten);
      file.written(offset);
    },
    finish,
    async abandon() {
      file.stop(new Error('the download failed'));
      await extraction.catch(() => undefined);
      file.close();
    },
  };
}
