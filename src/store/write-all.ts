// A positional write that continues after a short write: every byte of
// `bytes[start, end)` lands at `position`, or the error is thrown.
import { write } from 'node:fs';
import { promisify } from 'node:util';

const writeSome = promisify(write);

export async function writeAll(fd: number, bytes: Buffer, start: number, end: number, position: number): Promise<void> {
  for (let offset = start; offset < end;) {
    offset += (await writeSome(fd, bytes, offset, end - offset, position + (offset - start))).bytesWritten;
  }
}
