// Real servers on 127.0.0.1 (port 0) for the health tests. Not a test file itself.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';

export interface RunningServer {
  port: number;
  url: string;
  /** Closes the port and every open connection. */
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

function listen(server: Server, scheme: string, sockets: Set<Socket>): Promise<RunningServer> {
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({
        port,
        url: `${scheme}://127.0.0.1:${port}/`,
        close: () =>
          new Promise((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

export function startHttp(handler: Handler): Promise<RunningServer> {
  return listen(http.createServer(handler), 'http', new Set());
}

export function startHttps(handler: Handler, tls: { key: string; cert: string }): Promise<RunningServer> {
  return listen(https.createServer(tls, handler), 'https', new Set());
}

/** Accepts connections and never answers. */
export function startHangingServer(): Promise<RunningServer> {
  return listen(createTcpServer(() => {}), 'http', new Set());
}

/** A self-signed certificate for 127.0.0.1, written into dir. */
export function selfSignedCert(dir: string): { key: string; cert: string; certPath: string } {
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1',
    '-keyout', keyPath, '-out', certPath,
  ], { stdio: 'ignore' });
  return { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8'), certPath };
}

/** A port nobody listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const server = await startHttp(() => {});
  await server.close();
  return server.port;
}
