// The host the real `tide` binary runs against: a state dir, a tide.toml naming the
// mirrors and keys, a real service started by a real restart script, a real nginx in
// front of it (what the health probe sees), and what that front end serves.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../scripts/lib/free-port.js';
import { fetchText } from '../../scripts/lib/http-text.js';
import { stopService, writeRestartScript } from '../../scripts/lib/service-app.js';
import { tideBin } from '../../scripts/lib/tide-bin.js';
import { startNginxProxy, type NginxProxy } from './nginx-proxy.js';

export { tideBin };

export interface TideRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** What the tests read of state.json. */
export interface HostStateFile {
  bad: string[];
  history: { from: string | null; to: string; result: string; reason?: string }[];
  sequences: Record<string, number>;
  revocations: { sequence: number | null; versions: string[]; keys: string[] };
}

export interface HostConfigOptions {
  health?: string;
  extraConfig?: string;
  /** The config's threshold (default: not set, so 1). */
  threshold?: number;
  /** Top-level keys added before the first table, e.g. `max_unpacked = "64KiB"`. */
  topConfig?: string;
  /** Also link the bundle's web/ dir and let nginx serve it at /ui/ (see servingUi). */
  webUi?: boolean;
}

export interface TideHost {
  stateDir: string;
  configPath: string;
  linkPath: string;
  servicePort: number;
  nginx: NginxProxy;
  tide(args: string[], env?: Record<string, string>): Promise<TideRun>;
  /** What the front end serves now ("demo 1.1.0"), or an error description. */
  serving(): Promise<string>;
  /** With `webUi`: the web UI nginx serves from the linked web/ dir ("<h1>demo 1.1.0</h1>"). */
  servingUi(): Promise<string>;
  stateJson(): HostStateFile;
  /** Kill the service and stop nginx (the caller removes `dir`). */
  stop(): Promise<void>;
}

interface HostPaths {
  stateDir: string;
  linkPath: string;
  webLink: string;
  restart: string;
  probeUrl: string;
}

function hostConfig(p: HostPaths, mirrorUrls: string[], keyFiles: string[], o: HostConfigOptions): string {
  return `app = "demo"
channel = "stable"
state_dir = ${JSON.stringify(p.stateDir)}
mirrors = ${JSON.stringify(mirrorUrls)}
keys = ${JSON.stringify(keyFiles)}
${o.threshold !== undefined ? `threshold = ${o.threshold}\n` : ''}keep = 1
machine_id = "test-machine"
${o.topConfig ?? ''}

[[link]]
path = ${JSON.stringify(p.linkPath)}
target = "bin/demo"
${o.webUi ? `\n[[link]]\npath = ${JSON.stringify(p.webLink)}\ntarget = "web"\n` : ''}
[service]
restart = [${JSON.stringify(p.restart)}]

${o.health ?? `[health]
timeout = "8s"
interval = "200ms"
stable = "1s"
`}
[[health.probe]]
type = "http"
url = ${JSON.stringify(p.probeUrl)}
expect = 200
${o.extraConfig ?? ''}
`;
}

/** Run the real binary with `--config`; resolves with whatever it exited with. */
function runTide(configPath: string, args: string[], env: Record<string, string>): Promise<TideRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [tideBin, '--config', configPath, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Set up the host in `dir` (keyFiles are relative to it); nothing runs until tide restarts the service. */
export async function startTideHost(dir: string, o: HostConfigOptions & { mirrorUrls: string[]; keyFiles: string[] }): Promise<TideHost> {
  const stateDir = join(dir, 'state');
  const linkPath = join(dir, 'usr-local-bin', 'demo');
  const servicePort = await freePort();
  const webLink = join(dir, 'srv', 'demo-web');
  const nginx = await startNginxProxy(servicePort, o.webUi ? { staticDirs: { '/ui/': webLink } } : {});
  const restart = writeRestartScript(dir, { link: linkPath, port: servicePort });
  const configPath = join(dir, 'tide.toml');
  writeFileSync(configPath, hostConfig({ stateDir, linkPath, webLink, restart, probeUrl: nginx.url }, o.mirrorUrls, o.keyFiles, o));
  return {
    stateDir, configPath, linkPath, servicePort, nginx,
    tide: (args, env = {}) => runTide(configPath, args, env),
    serving: () => fetchText(nginx.url),
    servingUi: () => fetchText(new URL('ui/index.html', nginx.url)),
    stateJson: () => JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')),
    async stop() {
      stopService(dir);
      await nginx.stop();
    },
  };
}
