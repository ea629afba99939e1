// A real service for the end-to-end tests and the demo: a Node HTTP server that answers
// its version, in five builds: good, crash (exits at start), 500 (answers errors), hang
// (never answers), dies-later (healthy for `diesAfterMs`, then exits: a late failure). Started by a real restart script, the way an operator's restart command would.
import { chmodSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export type ServiceBehaviour = 'good' | 'crash' | '500' | 'hang' | 'dies-later';

/** How long a `dies-later` build answers before it exits 1 (long enough to pass a short startup check). */
export const diesAfterMs = 5_000;

export function serviceSource(version: string, behaviour: ServiceBehaviour): string {
  return `#!${process.execPath}
const http = require('http');
const version = ${JSON.stringify(version)};
const behaviour = ${JSON.stringify(behaviour)};
if (behaviour === 'crash') { console.error('demo ' + version + ': cannot start'); process.exit(1); }
const server = http.createServer((req, res) => {
  if (behaviour === 'hang') return;
  res.writeHead(behaviour === '500' ? 500 : 200, { 'content-type': 'text/plain' });
  res.end('demo ' + version + '\\n');
});
server.listen(Number(process.env.DEMO_PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
if (behaviour === 'dies-later') setTimeout(() => { console.error('demo ' + version + ': out of memory (a late failure)'); process.exit(1); }, ${diesAfterMs});
setTimeout(() => process.exit(0), 10 * 60 * 1000).unref();
`;
}

/** A release tree: bin/demo (the service), web/index.html (the UI nginx serves). */
export function writeAppTree(dir: string, version: string, behaviour: ServiceBehaviour, extra: Record<string, string> = {}): void {
  mkdirSync(join(dir, 'bin'), { recursive: true, mode: 0o755 });
  mkdirSync(join(dir, 'web'), { recursive: true, mode: 0o755 });
  writeFileSync(join(dir, 'bin', 'demo'), serviceSource(version, behaviour));
  chmodSync(join(dir, 'bin', 'demo'), 0o755);
  writeFileSync(join(dir, 'web', 'index.html'), `<h1>demo ${version}</h1>\n`);
  chmodSync(join(dir, 'web', 'index.html'), 0o644);
  for (const [path, content] of Object.entries(extra)) {
    mkdirSync(join(dir, path, '..'), { recursive: true, mode: 0o755 });
    writeFileSync(join(dir, path), content, { mode: path.startsWith('hooks/') ? 0o755 : 0o644 });
    chmodSync(join(dir, path), path.startsWith('hooks/') ? 0o755 : 0o644);
  }
}

/**
 * The restart command: stop the running service (pid file), start the linked binary
 * in the background, return at once. Like `systemctl restart`, it does not wait for health.
 */
export function writeRestartScript(dir: string, opts: { link: string; port: number }): string {
  const path = join(dir, 'restart.sh');
  writeFileSync(path, `#!/bin/sh
pidfile=${join(dir, 'service.pid')}
if [ -f "$pidfile" ]; then
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null
  i=0
  while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
  kill -9 "$pid" 2>/dev/null
fi
echo "restart TIDE_VERSION=$TIDE_VERSION" >> ${join(dir, 'restarts.log')}
DEMO_PORT=${opts.port} nohup ${opts.link} >> ${join(dir, 'service.log')} 2>&1 &
echo $! > "$pidfile"
`);
  chmodSync(path, 0o755);
  return path;
}

/** Kill the service the restart script in `dir` started last, if it still runs. */
export function stopService(dir: string): void {
  try {
    process.kill(Number(readFileSync(join(dir, 'service.pid'), 'utf8')), 'SIGKILL');
  } catch { /* never started, or gone */ }
}
