// The file:// mirror client: a local directory (or a mounted share) holding the
// mirror tree. It goes through the same caps and the same .part protocol as http,
// and answers conditional requests from the file's identity, like a web server.
import { constants, type BigIntStats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { TideError, type ErrorPlace } from '../errors.js';
import { downloadVerified } from './artifact-part.js';
import type { ConditionalRequest, FetchedDocument, MirrorClient } from './mirror-client.js';
import { mirrorFilePath } from './mirror-path.js';
import { cappedChunks, readCappedDocument } from './transfer-limits.js';

// Files are read in pieces of this size.
const readChunkBytes = 64 * 1024;

function fileError(err: unknown, where: ErrorPlace): TideError {
  if (err instanceof TideError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new TideError('not-found', 'expected the file, it does not exist', where, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new TideError('unreachable', `expected to read the file, got ${message}`, where, { cause: err });
}

function kindOf(stats: BigIntStats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a fifo';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return 'something else';
}

// O_NONBLOCK: opening a fifo must not wait for a writer; it is refused right after.
async function openRegularFile(file: string, where: ErrorPlace): Promise<{ handle: FileHandle; stats: BigIntStats }> {
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw fileError(err, where);
  }
  const stats = await handle.stat({ bigint: true });
  if (!stats.isFile()) {
    await handle.close();
    throw new TideError(stats.isDirectory() ? 'not-found' : 'unreachable', `expected a regular file, found ${kindOf(stats)}`, where);
  }
  return { handle, stats };
}

async function* fileChunks(handle: FileHandle, start: number, where: ErrorPlace): AsyncGenerator<Buffer> {
  let position = start;
  for (;;) {
    const buffer = Buffer.allocUnsafe(readChunkBytes);
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(buffer, 0, buffer.length, position));
    } catch (err) {
      throw fileError(err, where);
    }
    if (bytesRead === 0) return;
    position += bytesRead;
    yield buffer.subarray(0, bytesRead);
  }
}

// Inode, mtime (ns) and size: a publisher that renames a new file in changes the tag.
function validatorsOf(stats: BigIntStats): { etag: string; lastModified: string } {
  const etag = `"${stats.ino.toString(16)}-${stats.mtimeNs.toString(16)}-${stats.size.toString(16)}"`;
  return { etag, lastModified: new Date(Number(stats.mtimeMs)).toUTCString() };
}

// As HTTP: an entity tag, when sent, decides alone; a date compares at one-second precision.
function notModified(conditional: ConditionalRequest, stats: BigIntStats): boolean {
  if (conditional.etag !== undefined) return conditional.etag === validatorsOf(stats).etag;
  if (conditional.lastModified === undefined) return false;
  const since = Date.parse(conditional.lastModified);
  return !Number.isNaN(since) && Math.floor(Number(stats.mtimeMs) / 1000) * 1000 <= since;
}

export function createFileMirrorClient(): MirrorClient {
  async function fetchDocument(mirror: string, path: string, maxBytes: number, conditional?: ConditionalRequest): Promise<FetchedDocument> {
    const where = { mirror, file: path };
    const { handle, stats } = await openRegularFile(mirrorFilePath(mirror, path), where);
    try {
      if (conditional && notModified(conditional, stats)) {
        return { bytes: Buffer.alloc(0), notModified: true, ...validatorsOf(stats) };
      }
      if (stats.size > BigInt(maxBytes)) {
        throw new TideError('size', `expected a document of at most ${maxBytes} bytes, the file has ${stats.size}`, where);
      }
      // The file may grow between stat and read: the cap holds while reading too.
      const bytes = await readCappedDocument(fileChunks(handle, 0, where), maxBytes, where);
      return { bytes, ...validatorsOf(stats) };
    } finally {
      await handle.close();
    }
  }

  return {
    fetchDocument,
    async fetchObject(mirror, path, maxBytes) {
      const where = { mirror, file: path };
      const { handle, stats } = await openRegularFile(mirrorFilePath(mirror, path), where);
      if (stats.size > BigInt(maxBytes)) {
        await handle.close();
        throw new TideError('size', `expected an object of at most ${maxBytes} bytes, the file has ${stats.size}`, where);
      }
      let closed = false;
      const close = (): void => {
        if (!closed) void handle.close();
        closed = true;
      };
      async function* chunks(): AsyncGenerator<Buffer> {
        try {
          yield* cappedChunks(fileChunks(handle, 0, where), maxBytes, where);
        } finally {
          close();
        }
      }
      return { chunks: chunks(), close };
    },
    async downloadArtifact(mirror, path, expect, dest, onProgress) {
      const where = { mirror, file: path };
      const source = mirrorFilePath(mirror, path);
      await downloadVerified(dest, expect, where, async (part) => {
        const { handle, stats } = await openRegularFile(source, where);
        try {
          if (stats.size !== BigInt(expect.size)) {
            throw new TideError('size', `expected ${expect.size} bytes, the file has ${stats.size}`, where);
          }
          for await (const chunk of fileChunks(handle, part.offset, where)) {
            await part.append(chunk);
          }
        } finally {
          await handle.close();
        }
      }, onProgress);
    },
  };
}
