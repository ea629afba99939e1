// Follows a tar's 512-byte block layout next to node-tar's Parser, for what the
// Parser lets through: a lone zero block (GNU tar stops there, node-tar reads on —
// two tools, two different bundles), bytes after the end-of-archive marker (the
// Parser ignores them, and buffers them all in memory, so an endless zero tail is
// also a memory bomb), and piles of metadata headers. It decodes headers with
// node-tar's own Header and Pax, so both agree on where each entry's body ends.
import { Header, Pax, type HeaderData } from 'tar';
import { TideError } from '../errors.js';
import { limits } from '../limits.js';

const BLOCK = 512;
// A real entry has at most a global pax, a pax, a long name and a long link header.
const MAX_META_HEADERS_IN_A_ROW = 4;

const metaTypes = new Set([
  'ExtendedHeader', 'OldExtendedHeader', 'GlobalExtendedHeader',
  'NextFileHasLongPath', 'OldGnuLongPath', 'NextFileHasLongLinkpath',
]);

const refuseLayout = (message: string, entry?: string): TideError =>
  new TideError('bundle-policy', message, entry === undefined ? {} : { entry });

function isZero(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i += 1) if (block[i] !== 0) return false;
  return true;
}

/**
 * POSIX pax records are `<length> <key>=<value>\n`, read by length. node-tar reads
 * them line by line and silently drops a record whose value holds a newline, so GNU
 * tar and node-tar would see different paths: any record not read the same way by
 * both is refused.
 */
function checkPaxRecords(body: Buffer): void {
  let pos = 0;
  while (pos < body.length) {
    const space = body.indexOf(0x20, pos);
    const digits = space === -1 ? '' : body.toString('latin1', pos, space);
    const length = /^[1-9][0-9]{0,7}$/.test(digits) ? Number(digits) : 0;
    const record = body.subarray(pos, pos + length);
    const text = record.toString('utf8', space - pos + 1, record.length - 1);
    if (length === 0 || record.length !== length || record[length - 1] !== 0x0a || !text.includes('=') || text.includes('\n')) {
      throw refuseLayout(`expected well-formed pax records ("<length> key=value\\n"), found ${JSON.stringify(body.toString('utf8', pos, pos + 64))}`);
    }
    pos += length;
  }
}

export class TarLayout {
  private readonly partial = Buffer.alloc(BLOCK);
  private partialFill = 0;
  private bodyRemaining = 0;
  private meta: { type: string; size: number; chunks: Buffer[] } | undefined;
  private ex: HeaderData | undefined;
  private gex: HeaderData | undefined;
  private zeroBlocks = 0;
  private metaInARow = 0;
  private metaBytes = 0;
  private trailingBytes = 0;
  private sniffed = false;
  /** True once the end-of-archive marker (two zero blocks) went by. */
  ended = false;

  /** How many leading bytes of `chunk` belong to the archive; the rest must be zero padding. */
  feed(chunk: Buffer): number {
    let pos = 0;
    while (pos < chunk.length && !this.ended) {
      pos += this.bodyRemaining > 0 ? this.passBody(chunk, pos) : this.takeHeader(chunk, pos);
    }
    if (pos < chunk.length) this.checkTrailing(chunk.subarray(pos));
    return pos;
  }

  /** Throws when the stream ended before the end-of-archive marker. */
  finish(): void {
    if (!this.ended) {
      throw refuseLayout('expected a complete tar archive, found one cut short before its end-of-archive marker');
    }
  }

  private passBody(chunk: Buffer, pos: number): number {
    const length = Math.min(this.bodyRemaining, chunk.length - pos);
    // A copy: the chunk may be handed back to its producer once fed (extract-worker.ts).
    if (this.meta !== undefined) this.meta.chunks.push(Buffer.from(chunk.subarray(pos, pos + length)));
    this.bodyRemaining -= length;
    if (this.bodyRemaining === 0 && this.meta !== undefined) this.finishMeta();
    return length;
  }

  private takeHeader(chunk: Buffer, pos: number): number {
    if (!this.sniffed) this.sniffGzip(chunk, pos);
    if (this.partialFill === 0 && chunk.length - pos >= BLOCK) {
      this.header(chunk.subarray(pos, pos + BLOCK));
      return BLOCK;
    }
    const length = Math.min(BLOCK - this.partialFill, chunk.length - pos);
    chunk.copy(this.partial, this.partialFill, pos, pos + length);
    this.partialFill += length;
    if (this.partialFill === BLOCK) {
      this.partialFill = 0;
      this.header(this.partial);
    }
    return length;
  }

  // node-tar's Parser gunzips again when the tar starts with the gzip magic, and
  // tiny archives never fill a block: look at the first two bytes as they come.
  private sniffGzip(chunk: Buffer, pos: number): void {
    const first = Buffer.concat([this.partial.subarray(0, this.partialFill), chunk.subarray(pos, pos + 2)]);
    if (first.length < 2) return;
    this.sniffed = true;
    if (first[0] === 0x1f && first[1] === 0x8b) {
      throw refuseLayout('expected a tar archive inside the gzip stream, found another gzip stream');
    }
  }

  private header(block: Buffer): void {
    if (isZero(block)) {
      this.zeroBlocks += 1;
      if (this.zeroBlocks === 2) this.ended = true;
      return;
    }
    if (this.zeroBlocks > 0) {
      throw refuseLayout('expected the end-of-archive marker (two zero blocks), found a lone zero block followed by more entries');
    }
    const header = new Header(block, 0, this.ex, this.gex);
    if (!header.cksumValid) {
      throw refuseLayout(`expected a tar header with a valid checksum, found a damaged header`, header.path || undefined);
    }
    const size = header.size ?? 0;
    this.bodyRemaining = Math.ceil(size / BLOCK) * BLOCK;
    if (metaTypes.has(header.type)) this.startMeta(header.type, size);
    else {
      this.metaInARow = 0;
      this.ex = undefined;
    }
  }

  private startMeta(type: string, size: number): void {
    this.metaInARow += 1;
    if (this.metaInARow > MAX_META_HEADERS_IN_A_ROW) {
      throw refuseLayout(`expected at most ${MAX_META_HEADERS_IN_A_ROW} pax or long-name headers before an entry, found more`);
    }
    if (size > limits.maxBundleMetaEntryBytes) {
      throw refuseLayout(`expected a pax or long-name header of at most ${limits.maxBundleMetaEntryBytes} bytes, found ${size} bytes`);
    }
    this.metaBytes += size;
    if (this.metaBytes > limits.maxBundleMetaBytes) {
      throw refuseLayout(`expected at most ${limits.maxBundleMetaBytes} bytes of pax and long-name headers, found more`);
    }
    // node-tar ignores an empty metadata header; so do we.
    if (size > 0) this.meta = { type, size, chunks: [] };
  }

  // Mirrors node-tar's Parser: pax headers apply to the next entry (global ones to
  // all), GNU long names set the next entry's path or link target.
  private finishMeta(): void {
    const meta = this.meta!;
    this.meta = undefined;
    const raw = Buffer.concat(meta.chunks).subarray(0, meta.size);
    const body = raw.toString('utf8');
    if (meta.type !== 'NextFileHasLongPath' && meta.type !== 'OldGnuLongPath' && meta.type !== 'NextFileHasLongLinkpath') {
      checkPaxRecords(raw);
    }
    if (meta.type === 'GlobalExtendedHeader') this.gex = Pax.parse(body, this.gex, true);
    else if (meta.type === 'ExtendedHeader' || meta.type === 'OldExtendedHeader') this.ex = Pax.parse(body, this.ex, false);
    else {
      const ex: HeaderData = this.ex ?? {};
      if (meta.type === 'NextFileHasLongLinkpath') ex.linkpath = body.replace(/\0.*/, '');
      else ex.path = body.replace(/\0.*/, '');
      this.ex = ex;
    }
  }

  private checkTrailing(rest: Buffer): void {
    for (let i = 0; i < rest.length; i += 1) {
      if (rest[i] !== 0) {
        throw refuseLayout('expected only zero padding after the end-of-archive marker, found other bytes');
      }
    }
    this.trailingBytes += rest.length;
    if (this.trailingBytes > limits.maxBundleTrailingZeroBytes) {
      throw refuseLayout(`expected at most ${limits.maxBundleTrailingZeroBytes} bytes of padding after the end-of-archive marker, found more`);
    }
  }
}
