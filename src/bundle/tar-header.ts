// Writes ustar headers byte for byte the same for the same entry, so a bundle is
// reproducible: owner 0/0 with no names, one fixed mtime, no device numbers, no
// atime/ctime. A pax header carries what ustar cannot hold (names over 100 bytes,
// files of 8 GiB and more); everything else stays in the plain ustar fields.
import type { EntryKind } from './policy.js';

export const TAR_BLOCK = 512;

export interface TarEntryFields {
  /** Path inside the bundle, without `./`; directories get a trailing `/` here. */
  path: string;
  kind: EntryKind;
  mode: number;
  size: number;
  linkpath?: string;
  /** Seconds since the epoch (SOURCE_DATE_EPOCH). */
  mtime: number;
}

const typeflag: Record<EntryKind, string> = { file: '0', directory: '5', symlink: '2' };
const MAX_OCTAL_SIZE = 0o77777777777;

/** An octal number in `width` bytes: zero-padded digits, then a NUL. */
function writeOctal(block: Buffer, offset: number, width: number, value: number): void {
  block.write(value.toString(8).padStart(width - 1, '0') + '\0', offset, width, 'ascii');
}

/** The longest prefix of `text` that fits in `bytes` without splitting a character. */
function fitUtf8(text: string, bytes: number): string {
  let fitted = '';
  for (const character of text) {
    if (Buffer.byteLength(fitted + character) > bytes) break;
    fitted += character;
  }
  return fitted;
}

interface UstarFields {
  name: string;
  mode: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
}

function ustarBlock(fields: UstarFields): Buffer {
  const block = Buffer.alloc(TAR_BLOCK);
  block.write(fields.name, 0, 100, 'utf8');
  writeOctal(block, 100, 8, fields.mode);
  writeOctal(block, 108, 8, 0); // uid
  writeOctal(block, 116, 8, 0); // gid
  writeOctal(block, 124, 12, fields.size);
  writeOctal(block, 136, 12, fields.mtime);
  block.write(fields.typeflag, 156, 1, 'ascii');
  block.write(fields.linkname, 157, 100, 'utf8');
  block.write('ustar\u000000', 257, 8, 'ascii');
  writeOctal(block, 329, 8, 0); // devmajor
  writeOctal(block, 337, 8, 0); // devminor
  // The checksum is summed with its own field read as eight spaces.
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return block;
}

/** One pax record: its own length in decimal, a space, key=value, a newline. */
function paxRecord(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(rest) + 1;
  while (String(length).length + Buffer.byteLength(rest) !== length) length += 1;
  return `${length}${rest}`;
}

const padding = (size: number): Buffer => Buffer.alloc((TAR_BLOCK - (size % TAR_BLOCK)) % TAR_BLOCK);

/** The header block(s) of one entry: a pax header when needed, then the ustar header. */
export function encodeEntryHeader(entry: TarEntryFields): Buffer {
  const linkpath = entry.linkpath ?? '';
  const records: string[] = [];
  if (Buffer.byteLength(entry.path) > 100) records.push(paxRecord('path', entry.path));
  if (Buffer.byteLength(linkpath) > 100) records.push(paxRecord('linkpath', linkpath));
  if (entry.size > MAX_OCTAL_SIZE) records.push(paxRecord('size', String(entry.size)));
  const ustar = ustarBlock({
    name: fitUtf8(entry.path, 100),
    mode: entry.mode,
    size: entry.size > MAX_OCTAL_SIZE ? 0 : entry.size,
    mtime: entry.mtime,
    typeflag: typeflag[entry.kind],
    linkname: fitUtf8(linkpath, 100),
  });
  if (records.length === 0) return ustar;
  const body = Buffer.from(records.join(''), 'utf8');
  const pax = ustarBlock({ name: 'PaxHeader', mode: 0o644, size: body.length, mtime: entry.mtime, typeflag: 'x', linkname: '' });
  return Buffer.concat([pax, body, padding(body.length), ustar]);
}

/** Zero bytes that fill a file's body up to the next block. */
export const bodyPadding = padding;

/** The end-of-archive marker: two zero blocks. */
export const endOfArchive = (): Buffer => Buffer.alloc(2 * TAR_BLOCK);
