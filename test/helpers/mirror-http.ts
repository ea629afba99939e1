// A real static HTTP server on 127.0.0.1 serving a mirror tree from a directory,
// with Range support like any file server, and a fault per path for the tests of
// misbehaving mirrors (a status here; a stall or endless bytes from
// test/mirror/mirror-server.ts, whose handlers are the same type).
import { createReadStream, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

import type { Handler } from '../mirror/mirror-server.js';

export type FaultHandler = Handler;

export interface MirrorHttpServer {
  /** http://127.0.0.1:PORT */
  url: string;
  /** Every request path seen, in order. */
  requests: string[];
  /** Body bytes sent per path (files only, not faults): what a release cost, counted by the server. */
  bytesServed: Map<string, number>;
  /** Answer `path` (mirror-relative, e.g. "channels/stable.json") with `handler`; undefined clears it. */
  fault(path: string, handler: FaultHandler | undefined): void;
  close(): Promise<void>;
}

function serveFile(root: string, path: string, req: IncomingMessage, res: ServerResponse, count: (bytes: number) => void): void {
  const file = join(root, normalize(`/${path}`));
  let size: number;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) throw new Error('not a file');
    size = stat.size;
  } catch {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return;
  }
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const start = range ? Number(range[1]) : 0;
  if (range && start >= size) {
    res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
    return;
  }
  if (range) res.writeHead(206, { 'content-length': size - start, 'content-range': `bytes ${start}-${size - 1}/${size}` });
  else res.writeHead(200, { 'content-length': size });
  createReadStream(file, { start }).on('data', (chunk) => count(chunk.length)).pipe(res);
}

/** Serve `root` until close(). */
export async function serveMirrorDir(root: string): Promise<MirrorHttpServer> {
  const faults = new Map<string, FaultHandler>();
  const requests: string[] = [];
  const bytesServed = new Map<string, number>();
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '');
    requests.push(path);
    const fault = faults.get(path);
    if (fault) fault(req, res);
    else serveFile(root, path, req, res, (bytes) => bytesServed.set(path, (bytesServed.get(path) ?? 0) + bytes));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    bytesServed,
    fault(path, handler) {
      if (handler) faults.set(path, handler);
      else faults.delete(path);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Answer with a status and a short body. */
export const statusFault = (status: number): FaultHandler => (_req, res) => {
  res.writeHead(status, { 'content-type': 'text/plain' }).end(`status ${status}\n`);
};
