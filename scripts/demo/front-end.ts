// The demo's front end: nginx on 127.0.0.1 serving the web UI from its [[link]]
// and proxying /api/ to the service, or a small Node stand-in when nginx is missing.
import { createServer, request } from 'node:http';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../lib/free-port.js';
import { fetchText } from '../lib/http-text.js';
import { startNginx } from '../lib/nginx.js';

export interface FrontEnd {
  kind: 'nginx' | 'node';
  url: string;
  serving(): Promise<string>;
  stop(): Promise<void>;
}

export async function startFrontEnd(o: { servicePort: number; webRoot: string; useNginx: boolean }): Promise<FrontEnd> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const stop = o.useNginx ? await startNginxFront(port, o) : await startNodeFront(port, o);
  const serving = () => fetchText(`${url}api/`);
  return { kind: o.useNginx ? 'nginx' : 'node', url, serving, stop };
}

async function startNginxFront(port: number, o: { servicePort: number; webRoot: string }): Promise<() => Promise<void>> {
  const nginx = await startNginx({
    port,
    serverBody: `root ${o.webRoot};
    location /api/ { proxy_pass http://127.0.0.1:${o.servicePort}/; proxy_connect_timeout 2s; proxy_read_timeout 5s; }`,
  });
  return nginx.stop;
}

async function startNodeFront(port: number, o: { servicePort: number; webRoot: string }): Promise<() => Promise<void>> {
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/api/')) {
      const upstream = request({ host: '127.0.0.1', port: o.servicePort, path: req.url.slice(4), timeout: 5000 }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', () => { res.writeHead(502); res.end('bad gateway\n'); });
      upstream.end();
      return;
    }
    try {
      res.end(readFileSync(join(o.webRoot, 'index.html')));
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  mkdirSync(o.webRoot.replace(/\/[^/]+$/, ''), { recursive: true });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return () => new Promise((resolve) => server.close(() => resolve()));
}
