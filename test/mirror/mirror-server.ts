// Real HTTP servers on 127.0.0.1 that misbehave on purpose, for the mirror tests.
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestServer {
  url: string;
  /** Every request seen, in order. */
  requests: Array<{ url: string; headers: IncomingHttpHeaders }>;
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export async function serve(handler: Handler): Promise<TestServer> {
  const requests: TestServer['requests'] = [];
  const server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', headers: req.headers });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Deterministic bytes that are not all the same, so an offset mistake changes the hash. */
export function patternBytes(size: number, seed = 7): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i += 1) bytes[i] = (i * 31 + seed + (i >> 8)) & 0xff;
  return bytes;
}

/** Serve `bytes` at every path, honouring `Range: bytes=N-` unless told to ignore it. */
export function fileHandler(bytes: Buffer, options: { ignoreRange?: boolean } = {}): Handler {
  return (req, res) => {
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range && !options.ignoreRange) {
      const start = Number(range[1]);
      if (start >= bytes.length) {
        res.writeHead(416, { 'content-range': `bytes */${bytes.length}` }).end();
        return;
      }
      res.writeHead(206, { 'content-range': `bytes ${start}-${bytes.length - 1}/${bytes.length}`, 'content-length': bytes.length - start });
      res.end(bytes.subarray(start));
      return;
    }
    res.writeHead(200, { 'content-length': bytes.length }).end(bytes);
  };
}

/** Send `first`, then zeros until the client goes away; `sent()` says how many zeros were written. */
export function endlessHandler(headers: Record<string, string | number> = {}, first?: Buffer): Handler & { sent(): number } {
  let sent = 0;
  const chunk = Buffer.alloc(16 * 1024);
  const handler = (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(200, headers);
    if (first) res.write(first);
    const pump = (): void => {
      while (!res.destroyed && res.write(chunk)) sent += chunk.length;
      if (!res.destroyed) sent += chunk.length;
    };
    res.on('drain', pump);
    pump();
  };
  return Object.assign(handler, { sent: () => sent });
}

/** Send one byte every `everyMs` until the client goes away. */
export function trickleHandler(everyMs: number, headers: Record<string, string | number> = {}): Handler {
  return (_req, res) => {
    res.writeHead(200, headers);
    const timer = setInterval(() => {
      if (res.destroyed) clearInterval(timer);
      else res.write('x');
    }, everyMs);
    res.on('close', () => clearInterval(timer));
  };
}

/** Send the headers (and optionally some bytes), then nothing, ever. */
export function stallHandler(headers: Record<string, string | number> = {}, first?: Buffer): Handler {
  return (_req, res) => {
    res.writeHead(200, headers);
    if (first) res.write(first);
    else res.flushHeaders();
  };
}
