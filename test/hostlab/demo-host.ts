// A lab machine set up as an operator's host: the demo app as demo.service (the
// usual Restart=on-failure), nginx serving its web UI and proxying its API, tide
// installed by scripts/install.sh from the checkout (the units as shipped), its
// config in /etc/tide/tide.toml, a file:// mirror of signed releases published on
// the host and bound in read-only. The machine shares the host's loopback, so
// every demo host gets ports of its own.
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from '../../scripts/lib/free-port.js';
import { fetchText } from '../../scripts/lib/http-text.js';
import type { ServiceBehaviour } from '../../scripts/lib/service-app.js';
import { makeKey } from '../helpers/keys.js';
import { mirrorPublisher, type PublishOptions } from '../helpers/mirror-publisher.js';
import { tempDir } from '../helpers/tmp.js';
import { createLabMachine, type LabMachine, type Ran } from './lab-machine.js';

export const stateDir = '/var/lib/tide/demo';

export interface DemoHost {
  machine: LabMachine;
  webPort: number;
  apiPort: number;
  publish(version: string, behaviour?: ServiceBehaviour, options?: PublishOptions): Promise<void>;
  /** `tide ARGS` inside the machine, as root from a shell. */
  tide(args: string[]): Promise<Ran>;
  status(): Promise<HostStatus>;
  /** What nginx serves: the API through the proxy, the web UI from the linked web/ dir. */
  serving(): Promise<{ api: string; web: string }>;
  /** `systemctl start UNIT` and the main process's exit status afterwards. */
  startUnit(unit: string): Promise<{ exitStatus: number; result: string; systemctl: Ran }>;
  /** This boot's journal of `unit` (JSON log lines parsed, others as { message }). */
  journal(unit: string, opts?: { boot?: string }): Promise<JournalLine[]>;
  /** The pending marker as the host sees it in the machine's root, or null. */
  marker(): { phase: string; from: string | null; to: string } | null;
  stateJson(): { bad: string[]; history: { from: string | null; to: string; result: string; reason?: string }[] };
  cleanup(): Promise<void>;
}

export interface HostStatus {
  current: string | null;
  previous: string | null;
  pending: { from: string | null; to: string | null; phase: string } | null;
  bad: string[];
  lastResult: string | null;
}

export interface JournalLine {
  message: string;
  event?: string;
  level?: string;
  result?: string;
  reason?: string;
  [key: string]: unknown;
}

export interface DemoHostOptions {
  name: string;
  /** The [health] table (default: a short window, for the lab; '' for tide's defaults). */
  health?: string;
  /** TOML appended to /etc/tide/tide.toml (e.g. [podman], [[container]], more probes). */
  extraConfig?: string;
  /** More of the operator's files (path inside the machine -> text), written before the first boot. */
  files?: Record<string, string>;
  /** Machine directories on the power-loss layer (lab-machine.ts, lazyfs). */
  lazyfs?: string[];
}

function demoUnit(apiPort: number): string {
  return `[Unit]
Description=demo app (the lab's application, a usual unit)
After=network.target

[Service]
Environment=DEMO_PORT=${apiPort}
ExecStart=/usr/local/bin/demo
Restart=on-failure

[Install]
WantedBy=multi-user.target
`;
}

function nginxSite(webPort: number, apiPort: number): string {
  return `server {
    listen 127.0.0.1:${webPort};
    root /var/www/demo;
    index index.html;
    location /api/ { proxy_pass http://127.0.0.1:${apiPort}/; }
}
`;
}

function tideConfig(webPort: number, health: string, extra: string): string {
  return `app = "demo"
channel = "stable"
state_dir = "${stateDir}"
mirrors = ["file:///srv/mirror"]
keys = ["/etc/tide/keys/release.pub.asc"]
keep = 1

[[link]]
path = "/usr/local/bin/demo"
target = "bin/demo"

[[link]]
path = "/var/www/demo"
target = "web"

[service]
unit = "demo.service"

${health}

[[health.probe]]
type = "http"
url = "http://127.0.0.1:${webPort}/api/"
expect = 200

[[health.probe]]
type = "unit"
unit = "demo.service"
${extra}`;
}

export const labHealth = `[health]
timeout = "20s"
interval = "250ms"
stable = "2s"`;

function parseJournal(text: string): JournalLine[] {
  return text.split('\n').filter(Boolean).map((line) => {
    try {
      const parsed = JSON.parse(line) as JournalLine;
      return typeof parsed === 'object' && parsed !== null ? parsed : { message: line };
    } catch {
      return { message: line };
    }
  });
}

/** Files written into the machine's root before its first boot (the operator's part). */
function provision(root: string, o: { webPort: number; apiPort: number; publicKey: string; health: string; extraConfig: string; files: Record<string, string> }): void {
  const write = (path: string, text: string) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  write('etc/systemd/system/demo.service', demoUnit(o.apiPort));
  mkdirSync(join(root, 'etc/systemd/system/multi-user.target.wants'), { recursive: true });
  symlinkSync('/etc/systemd/system/demo.service', join(root, 'etc/systemd/system/multi-user.target.wants/demo.service'));
  write('etc/nginx/sites-enabled/demo.conf', nginxSite(o.webPort, o.apiPort));
  // The config and keys first, then install.sh (README's order): its drop-ins follow this config.
  write('etc/tide/tide.toml', tideConfig(o.webPort, o.health, o.extraConfig));
  for (const [path, text] of Object.entries(o.files)) write(path.replace(/^\//, ''), text);
  write('etc/tide/keys/release.pub.asc', o.publicKey);
  // A persistent journal: the scenarios read the boot before a power cut.
  mkdirSync(join(root, 'var/log/journal'), { recursive: true });
}

export async function createDemoHost(o: DemoHostOptions): Promise<DemoHost> {
  const work = tempDir(`tide-lab-${o.name}-host-`);
  // Removed with the machines of a killed test (lab-machine.ts, reapOrphans).
  writeFileSync(join(work.path, 'owner'), String(process.pid));
  const mirrorDir = join(work.path, 'mirror');
  mkdirSync(mirrorDir, { recursive: true });
  const key = await makeKey('release');
  const publisher = mirrorPublisher({ mirrorDir, buildDir: join(work.path, 'build'), key });
  const [webPort, apiPort] = [await freePort(), await freePort()];
  const machine = createLabMachine({ name: o.name, binds: [`${mirrorDir}:/srv/mirror`], ...(o.lazyfs && { lazyfs: o.lazyfs }) });
  provision(machine.root, { webPort, apiPort, publicKey: key.publicArmored, health: o.health ?? labHealth, extraConfig: o.extraConfig ?? '', files: o.files ?? {} });
  await machine.boot();
  const installed = await machine.run(['sh', '/srv/checkout/scripts/install.sh', '--app-unit', 'demo.service']);
  if (installed.code !== 0) throw new Error(`install.sh exited ${installed.code}: ${installed.stderr}`);
  // The scenarios start tide-update.service themselves: no hourly run in between.
  await machine.run(['systemctl', 'disable', '--now', 'tide-update.timer']);

  const tide = (args: string[]) => machine.run(['/usr/local/bin/tide', ...args]);

  async function status(): Promise<HostStatus> {
    const ran = await tide(['status', '--json']);
    if (ran.code !== 0) throw new Error(`tide status exited ${ran.code}: ${ran.stderr}`);
    return JSON.parse(ran.stdout) as HostStatus;
  }

  async function serving(): Promise<{ api: string; web: string }> {
    return { api: await fetchText(`http://127.0.0.1:${webPort}/api/`), web: await fetchText(`http://127.0.0.1:${webPort}/`) };
  }

  async function startUnit(unit: string) {
    const systemctl = await machine.run(['systemctl', 'start', unit], { timeoutMs: 300_000 });
    const shown = await machine.run(['systemctl', 'show', '-p', 'ExecMainStatus', '-p', 'Result', unit]);
    const fields = Object.fromEntries(shown.stdout.trim().split('\n').map((line) => line.split('=', 2)));
    return { exitStatus: Number(fields.ExecMainStatus), result: fields.Result ?? '', systemctl };
  }

  async function journal(unit: string, j: { boot?: string } = {}): Promise<JournalLine[]> {
    // journald may still be writing the last lines of a unit that just ended.
    await machine.run(['journalctl', '--sync']);
    const ran = await machine.run(['journalctl', '-b', j.boot ?? '0', '-u', unit, '-o', 'cat', '--no-pager']);
    return parseJournal(ran.stdout);
  }

  function marker() {
    try {
      return JSON.parse(readFileSync(join(machine.root, stateDir.slice(1), 'pending.json'), 'utf8'));
    } catch {
      return null;
    }
  }

  function stateJson() {
    return JSON.parse(readFileSync(join(machine.root, stateDir.slice(1), 'state.json'), 'utf8'));
  }

  return {
    machine, webPort, apiPort,
    publish: (version, behaviour, options) => publisher.publish(version, behaviour, options),
    tide, status, serving, startUnit, journal, marker, stateJson,
    async cleanup() {
      await machine.destroy();
      work.cleanup();
    },
  };
}

/** Poll `check` every 50 ms until it returns a value, at most `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | null | undefined | Promise<T | null | undefined>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const value = await check();
    if (value !== null && value !== undefined && value !== false) return value;
    await delay(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
