// SPEC host-layout.md#current-and-previous: `current` and `previous` are symlinks into versions/; flipping
// `current` (new symlink renamed over the old, directory fsynced) swaps the whole app.
import { lstatSync, readlinkSync, rmSync, existsSync, mkdirSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { TideError } from '../errors.js';
import { fsyncDir, replaceSymlinkAtomic } from './atomic.js';
import type { Layout } from './layout.js';
import type { LinkSpec } from '../config/schema.js';

/** The version a `current`/`previous` link names, or null when there is none. */
export function readVersionLink(link: string): string | null {
  try {
    return basename(readlinkSync(link));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EINVAL') return null;
    throw err;
  }
}

export function pointVersionLink(layout: Layout, link: string, version: string | null): void {
  if (version === null) {
    rmSync(link, { force: true });
    fsyncDir(dirname(link));
    return;
  }
  if (readVersionLink(link) === version) return;
  replaceSymlinkAtomic(link, join('versions', version));
}

/** SPEC host-layout.md#links: every [[link]] path is a symlink to <state_dir>/current/<target>. */
export function ensureAppLinks(layout: Layout, links: readonly LinkSpec[]): void {
  for (const link of links) {
    const wanted = join(layout.current, link.target);
    let existing: string | null = null;
    try {
      if (lstatSync(link.path).isSymbolicLink()) existing = readlinkSync(link.path);
    } catch { /* absent */ }
    if (existing === wanted) continue;
    mkdirSync(dirname(link.path), { recursive: true });
    replaceSymlinkAtomic(link.path, wanted);
  }
}

/** SPEC host-layout.md#links: a bundle lacking a [[link]] target is refused before anything is swapped. */
export function checkLinkTargets(versionDir: string, links: readonly LinkSpec[], version: string): void {
  for (const link of links) {
    const path = join(versionDir, link.target);
    if (relative(versionDir, path).startsWith('..') || !existsSync(path)) {
      throw new TideError('missing-link-target', `release ${version} has no ${link.target} for the link ${link.path}`, { entry: link.target });
    }
  }
}
