// SPEC formats.md#bundle-rules: every rule a bundle's entries must follow, checked one header at a
// time before anything of that entry touches disk. Pure: no I/O, only the running
// state of one bundle (paths seen, symlinks, entry count, unpacked bytes).
// The extractor (host) and the builder (publisher) share it, so a bundle that
// leaves the building is one a host accepts.
import { TideError } from '../errors.js';
import { limits } from '../limits.js';
import { checkSymlinkTarget, entryPathComponents, foldedKey, refuseEntry } from './entry-path.js';

export type EntryKind = 'file' | 'directory' | 'symlink';

/** What a tar header says about an entry, in node-tar's words (`type` is its type name). */
export interface BundleEntryHeader {
  path: string;
  type: string;
  mode?: number;
  size?: number;
  linkpath?: string;
}

/** An entry the policy accepted, with its path normalised (`.` is the bundle's root). */
export interface CheckedEntry {
  path: string;
  kind: EntryKind;
  mode: number;
  size: number;
  linkpath?: string;
}

export interface BundlePolicyOptions {
  /** SPEC config.md#top-level-keys: max_unpacked, the cap on the files' bytes together. */
  maxUnpacked: number;
  /** SPEC formats.md#counts-and-sizes: more entries than this are refused (injectable for tests). */
  maxEntries?: number;
}

export interface BundlePolicy {
  /** Accepts one header or throws TideError('bundle-policy' | 'size') naming the entry. */
  check(header: BundleEntryHeader): CheckedEntry;
  readonly entries: number;
  readonly unpackedBytes: number;
}

const kindByType: Record<string, EntryKind> = {
  File: 'file',
  OldFile: 'file',
  ContiguousFile: 'file',
  Directory: 'directory',
  SymbolicLink: 'symlink',
};

const refusedTypes: Record<string, string> = {
  Link: 'a hard link',
  CharacterDevice: 'a character device',
  BlockDevice: 'a block device',
  FIFO: 'a fifo',
};

// SPEC formats.md#entry-types: only files, directories and symlinks; hard links, devices, fifos
// (sockets have no tar type) and anything else node-tar would skip are refused.
function kindOf(header: BundleEntryHeader): EntryKind {
  const kind = kindByType[header.type];
  if (kind !== undefined) return kind;
  const found = refusedTypes[header.type] ?? `an entry of type ${header.type}`;
  throw refuseEntry(header.path, `expected a file, directory or symlink, found ${found}`);
}

const octal = (mode: number): string => '0' + mode.toString(8).padStart(3, '0');

// SPEC formats.md#modes-and-owners: no setuid, setgid, sticky or world-writable entries; directories
// 0755, files 0644 or 0755. Symlink modes mean nothing on Linux and are ignored.
function checkMode(kind: EntryKind, mode: number | undefined, path: string): number {
  if (kind === 'symlink') return 0o777;
  if (mode === undefined || !Number.isInteger(mode) || mode < 0) {
    throw refuseEntry(path, `expected a mode, found none`);
  }
  const bits = mode & 0o7777;
  const special = [[0o4000, 'setuid'], [0o2000, 'setgid'], [0o1000, 'sticky']] as const;
  for (const [bit, name] of special) {
    if (bits & bit) throw refuseEntry(path, `expected no ${name} bit, found mode ${octal(bits)}`);
  }
  if (bits & 0o002) throw refuseEntry(path, `expected an entry that is not world-writable, found mode ${octal(bits)}`);
  if (kind === 'directory' && bits !== 0o755) {
    throw refuseEntry(path, `expected directory mode 0755, found ${octal(bits)}`);
  }
  if (kind === 'file' && bits !== 0o644 && bits !== 0o755) {
    throw refuseEntry(path, `expected file mode 0644 or 0755, found ${octal(bits)}`);
  }
  return bits;
}

type TreeNode = 'file' | 'directory' | 'symlink' | 'implied-directory';

/** Where each path stands in the tree so far, under its folded key. */
class BundleTree {
  private readonly nodes = new Map<string, TreeNode>();

  /** SPEC formats.md#paths-and-names: the same path twice is refused; nothing is written through a symlink or a file. */
  place(parts: string[], kind: EntryKind, path: string): void {
    const key = parts.length === 0 ? '.' : foldedKey(parts);
    const existing = this.nodes.get(key);
    // A directory entry may follow the files that implied it; nothing else may repeat.
    if (existing !== undefined && !(existing === 'implied-directory' && kind === 'directory')) {
      throw refuseEntry(path, `expected each path once, found ${JSON.stringify(path)} again (maybe differing only in case or Unicode form)`);
    }
    const implied: string[] = [];
    for (let depth = 1; depth < parts.length; depth += 1) {
      const ancestor = foldedKey(parts.slice(0, depth));
      const node = this.nodes.get(ancestor);
      if (node === 'symlink' || node === 'file') {
        throw refuseEntry(path, `expected a path whose parents are directories, found ${JSON.stringify(parts.slice(0, depth).join('/'))}, a ${node}, in it`);
      }
      if (node === undefined) implied.push(ancestor);
    }
    for (const ancestor of implied) this.nodes.set(ancestor, 'implied-directory');
    this.nodes.set(key, kind);
  }
}

export function createBundlePolicy(options: BundlePolicyOptions): BundlePolicy {
  const maxEntries = options.maxEntries ?? limits.maxBundleEntries;
  const tree = new BundleTree();
  let entries = 0;
  let unpackedBytes = 0;

  function check(header: BundleEntryHeader): CheckedEntry {
    entries += 1;
    if (entries > maxEntries) {
      throw refuseEntry(header.path, `expected at most ${maxEntries} entries, found more`);
    }
    const parts = entryPathComponents(header.path);
    const kind = kindOf(header);
    const mode = checkMode(kind, header.mode, header.path);
    if (parts.length === 0 && kind !== 'directory') {
      throw refuseEntry(header.path, `expected the bundle's root to be a directory, found a ${kind}`);
    }
    let linkpath: string | undefined;
    if (kind === 'symlink') {
      linkpath = header.linkpath ?? '';
      checkSymlinkTarget(parts, linkpath, header.path);
    }
    const size = kind === 'file' ? header.size ?? 0 : 0;
    tree.place(parts, kind, header.path);
    unpackedBytes += size;
    // SPEC formats.md#counts-and-sizes: more than max_unpacked is refused, at the header that passes it.
    if (unpackedBytes > options.maxUnpacked) {
      throw new TideError('size', `expected at most ${options.maxUnpacked} unpacked bytes, found ${unpackedBytes} by this entry`, { entry: header.path });
    }
    return { path: parts.length === 0 ? '.' : parts.join('/'), kind, mode, size, linkpath };
  }

  return {
    check,
    get entries() {
      return entries;
    },
    get unpackedBytes() {
      return unpackedBytes;
    },
  };
}
