// Python's http.server over a directory on 127.0.0.1: a plain, fast static server that
// ignores Range and sends no validators, unlike nginx and the Node test server.
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from '../../scripts/lib/free-port.js';

export interface PythonHttp {
  url: string;
  stop(): Promise<void>;
}

const accepts = (port: number): Promise<boolean> => new Promise((resolve) => {
  const socket = connect(port, '127.0.0.1');
  socket.once('connect', () => { socket.destroy(); resolve(true); });
  socket.once('error', () => resolve(false));
});

export async function startPythonHttp(root: string): Promise<PythonHttp> {
  const port = await freePort();
  const child = spawn('python3', ['-m', 'http.server', '--bind', '127.0.0.1', '--directory', root, String(port)], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Bounded: Python starts in well under a second; give it 10.
  for (let i = 0; i < 100 && !(await accepts(port)); i++) await delay(100);
  if (!(await accepts(port))) {
    child.kill('SIGKILL');
    throw new Error(`python3 -m http.server did not listen on 127.0.0.1:${port}`);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
