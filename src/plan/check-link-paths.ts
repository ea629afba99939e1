// SPEC host-layout.md#links: every [[link]] path becomes a symlink into `current`. What
// could stop that is checked in the plan, before anything is downloaded or swapped: a
// real file or directory where the link goes (tide never replaces what it did not
// make) and a directory this process may not write (a read-only mount, a sandbox
// whose ReadWritePaths= predate the config). Found after `current` flipped, either
// would leave nginx serving the new web UI with the old API.
import { accessSync, constants, lstatSync, readlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TideError } from '../errors.js';
import type { LinkSpec } from '../config/schema.js';

function kindOf(path: string): string | null {
  try {
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) return 'symlink';
    return stat.isDirectory() ? 'directory' : stat.isFile() ? 'file' : 'special file';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** The directory the link will be made in, or its nearest ancestor that exists (tide creates the rest). */
function nearestExisting(dir: string): string {
  for (let at = dir; ; at = dirname(at)) {
    if (kindOf(at) !== null || dirname(at) === at) return at;
  }
}

function checkWritable(link: LinkSpec): void {
  const dir = nearestExisting(dirname(link.path));
  try {
    // access(2) answers EROFS for a read-only mount, root or not.
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new TideError(
      'link-path',
      `expected to be able to write ${dir} to make the link ${link.path}, found ${code}; if tide runs from its systemd unit, re-run scripts/install.sh so the unit may write it`,
      { file: link.path },
    );
  }
}

/**
 * Refuses (exit 3, nothing changed) when a [[link]] path could not be made a symlink into
 * `current` (`currentLink`, the state dir's `current`). A link that already points there
 * needs no write: a swap flips `current`, not the link.
 */
export function checkLinkPaths(links: readonly LinkSpec[], currentLink: string): void {
  for (const link of links) {
    const kind = kindOf(link.path);
    if (kind !== null && kind !== 'symlink') {
      throw new TideError(
        'link-path',
        `expected ${link.path} to be absent or a symlink, found a ${kind}: tide never replaces what it did not make; move it away, then update again`,
        { file: link.path },
      );
    }
    if (kind === 'symlink' && readlinkSync(link.path) === join(currentLink, link.target)) continue;
    checkWritable(link);
  }
}
