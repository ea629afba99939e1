// Bundles of the demo app crafted by Python's tarfile, which writes any header
// asked of it: a healthy app tree (bin/demo, web/index.html) plus whatever hostile
// entry a test adds, so that entry is the only thing wrong with the release.
import { craftBundle, type CraftedEntry } from '../bundle/fixtures.js';
import { serviceSource } from '../../scripts/lib/service-app.js';

export interface AppBundleOptions {
  /** Replace an entry of the healthy tree by name ("bin", "bin/demo", "web", "web/index.html"); null drops it. */
  replace?: Record<string, CraftedEntry | null>;
  /** Entries appended after the healthy tree. */
  extra?: CraftedEntry[];
}

export function appEntries(version: string, options: AppBundleOptions = {}): CraftedEntry[] {
  const healthy: CraftedEntry[] = [
    { name: 'bin', type: 'dir', mode: 0o755 },
    { name: 'bin/demo', type: 'file', mode: 0o755, data: serviceSource(version, 'good') },
    { name: 'web', type: 'dir', mode: 0o755 },
    { name: 'web/index.html', type: 'file', mode: 0o644, data: `<h1>demo ${version}</h1>\n` },
  ];
  const replace = options.replace ?? {};
  const entries = healthy.flatMap((entry) => {
    if (!(entry.name! in replace)) return [entry];
    const replacement = replace[entry.name!];
    return replacement === null || replacement === undefined ? [] : [{ ...entry, ...replacement }];
  });
  return [...entries, ...(options.extra ?? [])];
}

/** A .tar.gz of the demo app made by Python's tarfile (pax format). */
export function appBundle(version: string, options: AppBundleOptions = {}): Buffer {
  return craftBundle({ entries: appEntries(version, options) });
}
