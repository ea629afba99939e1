// An end-to-end host in a temp dir: a signing key, a mirror tree, releases built
// as real tarballs (GNU tar), a real service started by a real restart script,
// a real nginx in front, a config file, and a way to run the real `tide` binary.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './tmp.js';
import { makeKey, detachSign, type TestKey } from './keys.js';
import { writeAppTree, writeRestartScript, type ServiceBehaviour } from './service-app.js';
import { freePort, startNginxProxy, type NginxProxy } from './nginx-proxy.js';

export const tideBin = new URL('../../src/cli/bin.js', import.meta.url).pathname;

export interface TideRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface HostFixture {
  dir: string;
  stateDir: string;
  mirrorDir: string;
  configPath: string;
  linkPath: string;
  servicePort: number;
  nginx: NginxProxy;
  key: TestKey;
  publish(version: string, behaviour?: ServiceBehaviour, options?: PublishOptions): Promise<void>;
  tide(args: string[], env?: Record<string, string>): Promise<TideRun>;
  /** What the front end serves now ("demo 1.1.0"), or an error description. */
  serving(): Promise<string>;
  stateJson(): { bad: string[]; history: { from: string | null; to: string; result: string; reason?: string }[]; sequences: Record<string, number> };
  cleanup(): Promise<void>;
}

export interface PublishOptions {
  channel?: string;
  extraFiles?: Record<string, string>;
  /** Skip the channel pointer (a release published but not promoted). */
  noPointer?: boolean;
  sequence?: number;
  expires?: string;
  rolloutPercent?: number;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export async function createHostFixture(opts: { health?: string; extraConfig?: string } = {}): Promise<HostFixture> {
  const tmp = tempDir('tide-host-');
  const dir = tmp.path;
  const stateDir = join(dir, 'state');
  const mirrorDir = join(dir, 'mirror');
  const linkPath = join(dir, 'usr-local-bin', 'demo');
  mkdirSync(mirrorDir, { recursive: true });
  const key = await makeKey('release');
  writeFileSync(join(dir, 'release.pub.asc'), key.publicArmored);
  const servicePort = await freePort();
  const nginx = await startNginxProxy(servicePort);
  const restart = writeRestartScript(dir, { link: linkPath, port: servicePort });
  const configPath = join(dir, 'tide.toml');
  writeFileSync(configPath, `app = "demo"
channel = "stable"
state_dir = ${JSON.stringify(stateDir)}
mirrors = [${JSON.stringify('file://' + mirrorDir)}]
keys = ["release.pub.asc"]
keep = 1
machine_id = "test-machine"

[[link]]
path = ${JSON.stringify(linkPath)}
target = "bin/demo"

[service]
restart = [${JSON.stringify(restart)}]

${opts.health ?? `[health]
timeout = "8s"
interval = "200ms"
stable = "1s"
`}
[[health.probe]]
type = "http"
url = ${JSON.stringify(nginx.url)}
expect = 200
${opts.extraConfig ?? ''}
`);
  let sequence = 0;

  async function publish(version: string, behaviour: ServiceBehaviour = 'good', p: PublishOptions = {}): Promise<void> {
    const channel = p.channel ?? 'stable';
    const releaseDir = join(mirrorDir, 'releases', version);
    const tree = join(dir, 'build', version);
    rmSync(tree, { recursive: true, force: true });
    writeAppTree(tree, version, behaviour, p.extraFiles);
    mkdirSync(releaseDir, { recursive: true });
    const bundleName = `demo-${version}.tar.gz`;
    const entries = spawnSync('ls', [tree]).stdout.toString().trim().split('\n');
    const tar = spawnSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-czf', join(releaseDir, bundleName), '-C', tree, ...entries]);
    if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr}`);
    const bundle = readFileSync(join(releaseDir, bundleName));
    const manifest = Buffer.from(JSON.stringify({
      schema: 1, app: 'demo', version, published: new Date().toISOString(),
      artifacts: [{ type: 'bundle', path: bundleName, size: bundle.length, sha256: sha256(bundle) }],
    }, null, 2));
    writeFileSync(join(releaseDir, 'manifest.json'), manifest);
    writeFileSync(join(releaseDir, 'manifest.json.asc'), await detachSign(manifest, [key]));
    if (p.noPointer) return;
    sequence = p.sequence ?? sequence + 1;
    const pointer = Buffer.from(JSON.stringify({
      schema: 1, app: 'demo', channel, version, sequence,
      published: new Date().toISOString(),
      expires: p.expires ?? new Date(Date.now() + 86_400_000).toISOString(),
      manifest: { path: `releases/${version}/manifest.json`, size: manifest.length, sha256: sha256(manifest) },
      ...(p.rolloutPercent !== undefined ? { rollout: { percent: p.rolloutPercent } } : {}),
    }));
    mkdirSync(join(mirrorDir, 'channels'), { recursive: true });
    writeFileSync(join(mirrorDir, 'channels', `${channel}.json`), pointer);
    writeFileSync(join(mirrorDir, 'channels', `${channel}.json.asc`), await detachSign(pointer, [key]));
  }

  function tide(args: string[], env: Record<string, string> = {}): Promise<TideRun> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [tideBin, '--config', configPath, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '', stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    });
  }

  async function serving(): Promise<string> {
    try {
      const res = await fetch(nginx.url, { signal: AbortSignal.timeout(2000) });
      return res.status === 200 ? (await res.text()).trim() : `HTTP ${res.status}`;
    } catch (err) {
      return `error: ${(err as Error).message}`;
    }
  }

  function stateJson() {
    return JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8'));
  }

  async function cleanup(): Promise<void> {
    const pidfile = join(dir, 'service.pid');
    if (existsSync(pidfile)) {
      try { process.kill(Number(readFileSync(pidfile, 'utf8')), 'SIGKILL'); } catch { /* gone */ }
    }
    await nginx.stop();
    tmp.cleanup();
  }

  return { dir, stateDir, mirrorDir, configPath, linkPath, servicePort, nginx, key, publish, tide, serving, stateJson, cleanup };
}
