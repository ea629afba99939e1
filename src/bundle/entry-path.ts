// Pure checks on one name inside a bundle: an entry's path and a symlink's target.
// SPEC formats.md#paths-and-names: absolute paths, `..` components and names with control characters
// are refused. The extra rules (backslash, drive letters, bytes that are not UTF-8,
// depth, length) close node-tar's past path CVEs (2021-37701/37712/37713, 2024-28863).
import { TideError } from '../errors.js';
import { limits } from '../limits.js';

// C0 controls, DEL and C1 controls.
const controlCharacter = /[\u0000-\u001f\u007f-\u009f]/;
// node-tar decodes names as UTF-8; bytes that are not UTF-8 become U+FFFD.
const notUtf8 = '\ufffd';
// `C:` names a drive on Windows; node-tar CVE-2021-37713 turned `c:../x` into an escape.
const driveLetter = /^[A-Za-z]:/;

export const refuseEntry = (entry: string, message: string): TideError =>
  new TideError('bundle-policy', message, { entry });

type NameRole = 'path' | 'symlink target';

/** Rules every name follows, whether it is a path or where a symlink points. */
function checkName(name: string, role: NameRole, entry: string): void {
  if (name.length === 0) throw refuseEntry(entry, `expected a ${role}, found an empty one`);
  if (controlCharacter.test(name)) {
    throw refuseEntry(entry, `expected a ${role} without control characters, found ${JSON.stringify(name)}`);
  }
  if (name.includes(notUtf8)) {
    throw refuseEntry(entry, `expected a ${role} in UTF-8, found bytes that are not UTF-8 (or U+FFFD) in ${JSON.stringify(name)}`);
  }
  if (name.includes('\\')) {
    throw refuseEntry(entry, `expected a ${role} without backslashes, found ${JSON.stringify(name)}`);
  }
  const bytes = Buffer.byteLength(name);
  if (bytes > limits.maxEntryPathBytes) {
    throw refuseEntry(entry, `expected a ${role} of at most ${limits.maxEntryPathBytes} bytes, found ${bytes} bytes`);
  }
  if (name.startsWith('/')) {
    throw refuseEntry(entry, `expected a relative ${role}, found the absolute ${role} ${JSON.stringify(name)}`);
  }
  if (driveLetter.test(name)) {
    throw refuseEntry(entry, `expected a relative ${role}, found a drive letter in ${JSON.stringify(name)}`);
  }
}

/** Components of a name; `./a`, `a/` and `a//b` lose their `.` and empty parts. */
const componentsOf = (name: string): string[] => name.split('/').filter((part) => part !== '' && part !== '.');

/**
 * The components of an entry's path, after every path rule passed.
 * `./` (GNU tar's `-C dir .`) has no components: it names the bundle's root.
 */
export function entryPathComponents(path: string): string[] {
  checkName(path, 'path', path);
  const parts = componentsOf(path);
  if (parts.includes('..')) {
    throw refuseEntry(path, `expected a path inside the bundle, found a ".." component in ${JSON.stringify(path)}`);
  }
  if (parts.length > limits.maxEntryDepth) {
    throw refuseEntry(path, `expected a path at most ${limits.maxEntryDepth} directories deep, found ${parts.length}`);
  }
  const longName = parts.find((part) => Buffer.byteLength(part) > limits.maxEntryNameBytes);
  if (longName !== undefined) {
    throw refuseEntry(path, `expected names of at most ${limits.maxEntryNameBytes} bytes, found one of ${Buffer.byteLength(longName)} bytes`);
  }
  return parts;
}

/**
 * SPEC formats.md#symlinks: symlinks whose target leaves the bundle are refused.
 * A target may climb with leading `..` no higher than the bundle's root and then
 * only descend. A `..` after a name is refused: that name may itself be a symlink
 * (`d/l -> ..`, then `x -> d/l/..`), and the kernel resolves `..` after following it.
 */
export function checkSymlinkTarget(linkParts: string[], target: string, entry: string): void {
  checkName(target, 'symlink target', entry);
  const parts = componentsOf(target);
  let climbs = 0;
  while (climbs < parts.length && parts[climbs] === '..') climbs += 1;
  if (parts.slice(climbs).includes('..')) {
    throw refuseEntry(entry, `expected a symlink target with ".." only at its start, found ${JSON.stringify(target)}`);
  }
  const linkDirDepth = Math.max(0, linkParts.length - 1);
  if (climbs > linkDirDepth) {
    throw refuseEntry(entry, `expected a symlink target inside the bundle, found ${JSON.stringify(target)}, which leaves it`);
  }
}

/**
 * The key under which two paths name one file on a case-folding or Unicode-normalising
 * filesystem (node-tar CVE-2021-37712: `FOO -> /etc`, then `foo/x`). Used to refuse
 * both the same path twice and writing through a symlink, whatever the filesystem.
 */
export function foldedKey(parts: string[]): string {
  return parts.join('/').normalize('NFKD').toLowerCase().toUpperCase();
}
