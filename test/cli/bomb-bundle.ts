// A decompression bomb shaped like the demo app: its healthy tree, then one file whose
// header declares `size` bytes (about 1.2 GB by default) of zeros with one random byte
// per KiB, which gzip squeezes about 250:1. Streamed to disk, never held in memory.
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { Header } from 'tar';
import { craftTar } from '../bundle/fixtures.js';
import { appEntries } from './app-bundles.js';

const chunkBytes = 1 << 20;

function* tarBytes(version: string, name: string, size: number): Generator<Buffer> {
  yield craftTar({ entries: appEntries(version), noEnd: true });
  const header = Buffer.alloc(512);
  new Header({ path: name, mode: 0o644, size, type: 'File', mtime: new Date(1_700_000_000_000), uid: 0, gid: 0 }).encode(header, 0);
  yield header;
  let seed = 7;
  for (let left = size; left > 0; left -= chunkBytes) {
    const chunk = Buffer.alloc(Math.min(chunkBytes, left));
    for (let i = 0; i < chunk.length; i += 1024) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      chunk[i] = 1 + (seed % 255);
    }
    yield chunk;
  }
  yield Buffer.alloc((512 - (size % 512)) % 512);
  yield Buffer.alloc(1024);
}

/** Writes the bomb's .tar.gz to `path`. */
export async function writeBombBundle(path: string, o: { version: string; name?: string; size?: number }): Promise<void> {
  const gzip = createGzip({ level: 1 });
  await pipeline(Readable.from(tarBytes(o.version, o.name ?? 'web/big.bin', o.size ?? 1_200_000_000)), gzip, createWriteStream(path));
}
