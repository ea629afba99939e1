// Lists a bundle's entries through the same reader and policy the host uses, and
// writes nothing: the publisher's pre-ship check and any self-check read a bundle
// exactly as a host would.
import { limits } from '../limits.js';
import type { CheckedEntry } from './policy.js';
import { readBundleArchive } from './read-archive.js';

export interface ReadBundleEntriesOptions {
  /** Defaults to the spec's max_unpacked default. */
  maxUnpacked?: number;
  maxEntries?: number;
  signal?: AbortSignal;
}

/** Every entry in archive order, or TideError('bundle-policy' | 'size') at the first refusal. */
export async function readBundleEntries(archivePath: string, options: ReadBundleEntriesOptions = {}): Promise<CheckedEntry[]> {
  const entries: CheckedEntry[] = [];
  await readBundleArchive({
    archivePath,
    maxUnpacked: options.maxUnpacked ?? limits.defaultMaxUnpacked,
    maxEntries: options.maxEntries,
    signal: options.signal,
    sink: {
      begin: (entry) => entries.push(entry),
      data: () => {},
      end: () => {},
    },
  });
  return entries;
}
