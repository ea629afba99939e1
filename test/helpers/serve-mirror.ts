// The fixture's mirror tree as the config names it: file:// (the default), or served
// on 127.0.0.1 by a Node static server (faults per path), by a real nginx, or by
// Python's http.server (fast, no Range, no validators).
import { startNginx } from '../../scripts/lib/nginx.js';
import { serveMirrorDir, type MirrorHttpServer } from './mirror-http.js';
import { startPythonHttp } from './python-http.js';

export type MirrorServing = 'file' | 'http' | 'nginx' | 'python';

export interface ServedMirror {
  url: string;
  /** With 'http': the server, to inject faults per path and see requests. */
  server?: MirrorHttpServer;
  stop(): Promise<void>;
}

/** Serve the mirror tree as asked; returns its URL and how to stop the server. */
export async function serveMirror(mirrorDir: string, how: MirrorServing = 'file'): Promise<ServedMirror> {
  if (how === 'http') {
    const server = await serveMirrorDir(mirrorDir);
    return { url: server.url, server, stop: () => server.close() };
  }
  if (how === 'nginx') {
    const nginx = await startNginx({ root: mirrorDir });
    return { url: nginx.url, stop: () => nginx.stop() };
  }
  if (how === 'python') {
    const python = await startPythonHttp(mirrorDir);
    return { url: python.url, stop: () => python.stop() };
  }
  return { url: 'file://' + mirrorDir, stop: async () => undefined };
}
