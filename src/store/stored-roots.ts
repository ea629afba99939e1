// <state_dir>/roots/: every root this host accepted after the config's root 1, as
// root.<N>.json with root.<N>.json.asc, exactly the bytes it verified. SPEC trust.md#how-a-host-walks-the-chain: each accepted root is stored atomically before the next one is asked for.
// Read back through the root document's zod schema; they are verified again from the
// config's root on every run (trust/root-chain.ts).
import { mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { isTideError } from '../errors.js';
import { parseRootDocument } from '../documents/root-document.js';
import type { StoredRoot } from '../trust/root-chain.js';
import type { TrustedRoot } from '../trust/trusted-root.js';
import { fsyncDir, writeFileAtomic } from './atomic.js';
import type { Layout } from './layout.js';

const fileOf = (layout: Layout, version: number): string => join(layout.roots, `root.${version}.json`);

/** The stored versions, ascending. */
function storedVersions(layout: Layout): number[] {
  let names: string[];
  try {
    names = readdirSync(layout.roots);
  } catch {
    return [];
  }
  return names.flatMap((n) => /^root\.([1-9]\d*)\.json$/.exec(n)?.[1] ?? []).map(Number).sort((a, b) => a - b);
}

/**
 * Stored roots from 2 up, contiguous. Reading stops at a gap or at a file that cannot
 * be read or does not parse; those are returned as `unreadable` to be set aside.
 */
export function readStoredRoots(layout: Layout): { roots: StoredRoot[]; unreadable: number[] } {
  const roots: StoredRoot[] = [];
  const versions = storedVersions(layout).filter((v) => v >= 2);
  for (const [index, version] of versions.entries()) {
    try {
      if (version !== index + 2) throw new Error('gap');
      const bytes = readFileSync(fileOf(layout, version));
      const asc = readFileSync(`${fileOf(layout, version)}.asc`, 'utf8');
      const document = parseRootDocument(bytes, { file: fileOf(layout, version) });
      if (document.version !== version) throw new Error('wrong version');
      roots.push({ version, bytes, asc });
    } catch (err) {
      if (!(err instanceof Error) && !isTideError(err)) throw err;
      return { roots, unreadable: versions.slice(index) };
    }
  }
  return { roots, unreadable: [] };
}

/** Store an accepted root: its signature, then the document, each written atomically. */
export function storeRoot(layout: Layout, root: TrustedRoot): void {
  if (!root.signed) throw new Error(`root ${root.version} has no signed document to store`);
  mkdirSync(layout.roots, { recursive: true, mode: 0o755 });
  const file = fileOf(layout, root.version);
  writeFileAtomic(`${file}.asc`, root.signed.asc);
  writeFileAtomic(file, root.signed.bytes);
}

/** Move roots that do not verify (or cannot be read) aside as root.<N>.json.broken-<time>; they are asked for again. */
export function setRootsAside(layout: Layout, versions: readonly number[], now: Date): string[] {
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  const moved: string[] = [];
  for (const version of versions) {
    for (const name of [fileOf(layout, version), `${fileOf(layout, version)}.asc`]) {
      try {
        renameSync(name, `${name}.broken-${stamp}`);
        moved.push(name);
      } catch {
        // already gone
      }
    }
  }
  if (moved.length > 0) fsyncDir(layout.roots);
  return moved;
}

/** Versions above `version` stored here (to set aside after a break in the chain). */
export function storedAbove(layout: Layout, version: number): number[] {
  return storedVersions(layout).filter((v) => v > version);
}
