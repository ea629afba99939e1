// A real nginx on 127.0.0.1 proxying to a backend port, for health probes that see
// what an operator's host sees: a dead backend answers 502 through nginx.
// Single process (master_process off) so stopping it is one kill of one pid we own.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { tempDir } from './tmp.js';

export interface NginxProxy {
  port: number;
  /** http://127.0.0.1:PORT/ */
  url: string;
  /** Stops nginx and removes its temp dir. */
  stop(): Promise<void>;
}

/** A port that was free a moment ago (nginx cannot tell us which port 0 picked). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface NginxProxyOptions {
  /** Location prefix → directory served as is (nginx follows symlinks), e.g. { '/ui/': linkToWebDir }. */
  staticDirs?: Record<string, string>;
}

function proxyConf(prefix: string, port: number, backendPort: number, options: NginxProxyOptions = {}): string {
  const statics = Object.entries(options.staticDirs ?? {})
    .map(([location, dir]) => `location ${location} { alias ${dir.replace(/\/?$/, '/')}; }`)
    .join('\n    ');
  const temp = (name: string): string => `${name}_temp_path ${join(prefix, name)};`;
  return `daemon off;
master_process off;
pid ${join(prefix, 'nginx.pid')};
error_log ${join(prefix, 'error.log')};
events { worker_connections 64; }
http {
  access_log off;
  ${temp('client_body')} ${temp('proxy')} ${temp('fastcgi')} ${temp('uwsgi')} ${temp('scgi')}
  server {
    listen 127.0.0.1:${port};
    ${statics}
    location / {
      proxy_pass http://127.0.0.1:${backendPort};
      proxy_connect_timeout 2s;
      proxy_read_timeout 5s;
    }
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

async function waitListening(port: number, nginx: ChildProcess): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    if (nginx.exitCode !== null || nginx.signalCode !== null) return false;
    if (await accepts(port)) return true;
    await delay(100);
  }
  return false;
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(killer);
}

export async function startNginxProxy(backendPort: number, options: NginxProxyOptions = {}): Promise<NginxProxy> {
  const dir = tempDir('tide-nginx-');
  let stderr = '';
  // Another process may take the free port before nginx binds it: try a few ports.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const conf = join(dir.path, 'nginx.conf');
    writeFileSync(conf, proxyConf(dir.path, port, backendPort, options));
    const nginx = spawn('/usr/sbin/nginx', ['-c', conf, '-p', dir.path + '/', '-e', join(dir.path, 'error.log')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    nginx.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    if (await waitListening(port, nginx)) {
      return {
        port,
        url: `http://127.0.0.1:${port}/`,
        stop: async () => {
          await stopProcess(nginx);
          dir.cleanup();
        },
      };
    }
    await stopProcess(nginx);
  }
  dir.cleanup();
  throw new Error(`nginx did not start: ${stderr.trim()}`);
}
