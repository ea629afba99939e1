// The one way the tests and the demo start a real nginx on 127.0.0.1: serving a
// directory (ETag, Range, 304) or any `server { }` body (a proxy, a front end).
// Its conf, pid and logs live in a temp dir removed by stop().
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

export interface NginxOptions {
  /** Directory served at "/" (or give `serverBody`). */
  root?: string;
  /** The whole inside of `server { }` after `listen`, instead of `root`. */
  serverBody?: string;
  /** Default: a free port. */
  port?: number;
  /** Directives added inside `server { }`, e.g. `access_log /tmp/x/a.log combined;`. */
  extraServerConfig?: string;
  /** Directives added inside `http { }`, e.g. a `log_format` for an access_log in the server. */
  extraHttpConfig?: string;
}

export interface RunningNginx {
  url: string;
  port: number;
  stop(): Promise<void>;
}

function nginxConf(prefix: string, body: string, port: number, extra: string, extraHttp = ''): string {
  // Workers of a root master run as "nobody" and could not read 0700 temp dirs.
  const user = process.getuid?.() === 0 ? 'user root;' : '';
  return `${user}
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/e.log;
events {}
http {
  access_log off;
  client_body_temp_path ${prefix}/cb;
  proxy_temp_path ${prefix}/p;
  fastcgi_temp_path ${prefix}/f;
  uwsgi_temp_path ${prefix}/u;
  scgi_temp_path ${prefix}/s;
  ${extraHttp}
  server {
    listen 127.0.0.1:${port};
    ${body}
    ${extra}
  }
}
`;
}

async function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

async function waitUntilListening(child: ChildProcess, port: number, errorLog: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    if (await accepts(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  let log = '';
  try { log = readFileSync(errorLog, 'utf8'); } catch { /* nginx wrote nothing */ }
  child.kill('SIGKILL');
  throw new Error(`nginx did not listen on ${port}: ${log.trim().split('\n').slice(-3).join(' | ')}`);
}

/** nginx's prefix dir: its conf, pid, logs and temp paths. */
function nginxPrefix(): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'tide-nginx-'));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

async function startOnce(options: NginxOptions, port: number): Promise<RunningNginx> {
  const prefix = nginxPrefix();
  for (const dir of ['cb', 'p', 'f', 'u', 's']) mkdirSync(join(prefix.path, dir));
  const conf = join(prefix.path, 'nginx.conf');
  const body = options.serverBody ?? `root ${options.root};`;
  writeFileSync(conf, nginxConf(prefix.path, body, port, options.extraServerConfig ?? '', options.extraHttpConfig));
  const errorLog = join(prefix.path, 'e.log');
  const child = spawn('/usr/sbin/nginx', ['-c', conf, '-p', prefix.path, '-e', errorLog], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitUntilListening(child, port, errorLog);
  } catch (err) {
    await exited;
    prefix.cleanup();
    throw err;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      prefix.cleanup();
    },
  };
}

/** Start nginx; with no port given, a taken port (a race with another test) is retried with a new one. */
export async function startNginx(options: NginxOptions): Promise<RunningNginx> {
  if (options.port !== undefined) return startOnce(options, options.port);
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      return await startOnce(options, await freePort());
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}
