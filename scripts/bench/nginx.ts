// A real nginx serving a directory on 127.0.0.1 for the benchmarks, with an access
// log of `$request_length $bytes_sent` per request (what a no-op check costs on the
// wire). Single process, so stopping it is one signal to one pid we started.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

const NGINX = '/usr/sbin/nginx';

export interface BenchNginx {
  url: string;
  /** Requests logged since the last call: one line each. */
  takeRequests(): LoggedRequest[];
  stop(): Promise<void>;
}

export interface LoggedRequest {
  request: string;
  status: number;
  /** Bytes the client sent: request line and headers. */
  requestBytes: number;
  /** Bytes nginx sent: status line, headers and body. */
  sentBytes: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function conf(prefix: string, root: string, port: number): string {
  const temp = (name: string): string => `${name}_temp_path ${join(prefix, name)};`;
  // Workers of a root master would run as "nobody"; with master_process off there are none.
  return `daemon off;
master_process off;
pid ${join(prefix, 'nginx.pid')};
error_log ${join(prefix, 'error.log')};
events { worker_connections 256; }
http {
  log_format bench '"$request" $status $request_length $bytes_sent';
  access_log ${join(prefix, 'access.log')} bench;
  sendfile on;
  ${temp('client_body')} ${temp('proxy')} ${temp('fastcgi')} ${temp('uwsgi')} ${temp('scgi')}
  server {
    listen 127.0.0.1:${port};
    root ${root};
  }
}
`;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

function parseLog(text: string): LoggedRequest[] {
  return text.split('\n').filter(Boolean).map((line) => {
    const match = /^"(.*)" (\d+) (\d+) (\d+)$/.exec(line);
    if (!match) throw new Error(`unexpected access log line: ${line}`);
    return { request: match[1]!, status: Number(match[2]), requestBytes: Number(match[3]), sentBytes: Number(match[4]) };
  });
}

async function startOnce(root: string, prefix: string): Promise<BenchNginx | undefined> {
  const port = await freePort();
  const confPath = join(prefix, 'nginx.conf');
  writeFileSync(confPath, conf(prefix, root, port));
  const child = spawn(NGINX, ['-c', confPath, '-p', prefix + '/', '-e', join(prefix, 'error.log')], { stdio: 'ignore' });
  // A bench that dies half-way (an uncaught error) leaves no nginx behind.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  for (let i = 0; i < 50 && child.exitCode === null; i++) {
    if (await accepts(port)) {
      const log = join(prefix, 'access.log');
      let seen = 0;
      return {
        url: `http://127.0.0.1:${port}`,
        takeRequests() {
          const text = readFileSync(log, 'utf8');
          const fresh = text.slice(seen);
          seen = text.length;
          return parseLog(fresh);
        },
        stop: () => stopProcess(child),
      };
    }
    await delay(50);
  }
  await stopProcess(child);
  return undefined;
}

/** Start nginx serving `root`; a port taken by someone else in between is retried. */
export async function startBenchNginx(root: string): Promise<BenchNginx> {
  // Without this, a fresh machine gets a bare `spawn /usr/sbin/nginx ENOENT` mid-bench.
  if (!existsSync(NGINX)) throw new Error(`${NGINX} not found: the bench serves its mirrors with nginx; run sh scripts/install-test-deps.sh first`);
  const prefix = mkdtempSync(join(tmpdir(), 'tide-bench-nginx-'));
  for (let attempt = 0; attempt < 3; attempt++) {
    const nginx = await startOnce(root, prefix);
    if (nginx) {
      return { ...nginx, stop: async () => { await nginx.stop(); rmSync(prefix, { recursive: true, force: true }); } };
    }
  }
  let errors = '';
  try { errors = readFileSync(join(prefix, 'error.log'), 'utf8').trim(); } catch { /* nginx wrote nothing */ }
  rmSync(prefix, { recursive: true, force: true });
  throw new Error(`nginx did not start: ${errors.split('\n').slice(-2).join(' | ')}`);
}
