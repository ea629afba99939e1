// A mirror client over an export file (SPEC trust.md#the-export-file): a plain tar
// whose member paths are mirror-tree paths. `tide update --from FILE` reads it through
// this client, so the documents and artifacts in it go through exactly the checks
// (caps, .part protocol, signatures, hashes) of any other mirror. The file is as
// untrusted as a mirror: only its headers are indexed here, every byte is verified later.
import { open, type FileHandle } from 'node:fs/promises';
import { Header, Pax, type HeaderData } from 'tar';
import { TideError, type ErrorPlace } from '../errors.js';
import { limits } from '../limits.js';
import { downloadVerified } from './artifact-part.js';
import type { MirrorClient } from './mirror-client.js';
import { mirrorPathSegments } from './mirror-path.js';

const BLOCK = 512;
// Members are read in pieces of this size.
const readChunkBytes = 1024 * 1024;

interface Member { offset: number; size: number }

const damaged = (file: string, why: string): TideError =>
  new TideError('unreachable', `expected a tide export (a tar of mirror-tree paths), found ${why}`, { file });

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let read = 0;
  while (read < length) {
    const { bytesRead } = await handle.read(buffer, read, length - read, position + read);
    if (bytesRead === 0) break;
    read += bytesRead;
  }
  return buffer.subarray(0, read);
}

/** Regular files by path, from the headers alone (bodies are skipped, not read). */
async function indexExport(file: string): Promise<Map<string, Member>> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw new TideError((err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not-found' : 'unreachable', `cannot read the export file: ${(err as Error).message}`, { file });
  }
  const members = new Map<string, Member>();
  try {
    let position = 0;
    let ex: HeaderData | undefined;
    let gex: HeaderData | undefined;
    for (;;) {
      const block = await readAt(handle, position, BLOCK);
      if (block.length < BLOCK) throw damaged(file, 'a file cut short before its end-of-archive marker');
      if (block.every((b) => b === 0)) return members;
      const header = new Header(block, 0, ex, gex);
      if (!header.cksumValid) throw damaged(file, `a damaged tar header at byte ${position}`);
      const size = header.size ?? 0;
      const body = position + BLOCK;
      position = body + Math.ceil(size / BLOCK) * BLOCK;
      if (header.type === 'ExtendedHeader' || header.type === 'GlobalExtendedHeader' || header.type === 'NextFileHasLongPath') {
        if (size > limits.maxExportMetaBytes) throw damaged(file, `a metadata header of ${size} bytes`);
        const text = (await readAt(handle, body, size)).toString('utf8');
        if (header.type === 'GlobalExtendedHeader') gex = Pax.parse(text, gex, true);
        else if (header.type === 'ExtendedHeader') ex = Pax.parse(text, ex, false);
        else ex = { ...ex, path: text.replace(/\0.*/s, '') };
        continue;
      }
      ex = undefined;
      if (header.type !== 'File' && header.type !== 'OldFile') continue;
      const path = (header.path ?? '').replace(/^\.\//, '');
      if (members.has(path)) throw damaged(file, `${path} twice`);
      if (members.size >= limits.maxExportMembers) throw damaged(file, `more than ${limits.maxExportMembers} files`);
      members.set(path, { offset: body, size });
    }
  } finally {
    await handle.close();
  }
}

async function* memberChunks(file: string, start: number, end: number, where: ErrorPlace): AsyncGenerator<Buffer> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw new TideError('unreachable', `cannot read the export file: ${(err as Error).message}`, where);
  }
  try {
    for (let position = start; position < end;) {
      const chunk = await readAt(handle, position, Math.min(readChunkBytes, end - position));
      if (chunk.length === 0) throw new TideError('unreachable', 'the export file ended inside a member', where);
      position += chunk.length;
      yield chunk;
    }
  } finally {
    await handle.close();
  }
}

/** The client for one export file; `mirror` (its file:// URL) only names it in messages. */
export function createExportMirrorClient(file: string): MirrorClient {
  let index: Promise<Map<string, Member>> | undefined;
  async function member(mirror: string, path: string): Promise<Member> {
    mirrorPathSegments(mirror, path);
    const found = (await (index ??= indexExport(file))).get(path);
    if (!found) throw new TideError('not-found', 'expected the file, the export does not hold it', { mirror, file: path });
    return found;
  }
  return {
    async fetchDocument(mirror, path, maxBytes) {
      const where = { mirror, file: path };
      const found = await member(mirror, path);
      if (found.size > maxBytes) throw new TideError('size', `expected a document of at most ${maxBytes} bytes, the export holds ${found.size}`, where);
      const chunks: Buffer[] = [];
      for await (const chunk of memberChunks(file, found.offset, found.offset + found.size, where)) chunks.push(chunk);
      return { bytes: Buffer.concat(chunks) };
    },
    async downloadArtifact(mirror, path, expect, dest, onProgress) {
      const where = { mirror, file: path };
      const found = await member(mirror, path);
      await downloadVerified(dest, expect, where, async (part) => {
        if (found.size !== expect.size) throw new TideError('size', `expected ${expect.size} bytes, the export holds ${found.size}`, where);
        for await (const chunk of memberChunks(file, found.offset + part.offset, found.offset + found.size, where)) await part.append(chunk);
      }, onProgress);
    },
  };
}
