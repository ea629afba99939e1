// An end-to-end host in a temp dir: signing keys, a mirror tree (file://, or served
// by a real HTTP server or nginx on 127.0.0.1), releases built as real tarballs (GNU
// tar, or any bundle the test hands in), a real service started by a real restart
// script, a real nginx in front, a config file, and a way to run the real `tide` binary.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tempDir } from './tmp.js';
import { makeKey, detachSign, type TestKey } from './keys.js';
import { writeAppTree, writeRestartScript, type ServiceBehaviour } from './service-app.js';
import { freePort, startNginxProxy, type NginxProxy } from './nginx-proxy.js';
import { serveMirrorDir, type MirrorHttpServer } from './mirror-http.js';
import { startNginx, type RunningNginx } from './nginx.js';

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
  /** The first trusted key (every publish signs with it unless told otherwise). */
  key: TestKey;
  /** Every trusted key, in the config's order. */
  keys: TestKey[];
  /** The URL of the fixture's own mirror tree as the config names it (file://, http:// or nginx). */
  mirrorUrl: string;
  /** With `serve: 'http'`: the server, to inject faults per path and see requests. */
  mirrorServer?: MirrorHttpServer;
  publish(version: string, behaviour?: ServiceBehaviour, options?: PublishOptions): Promise<void>;
  /** Write and sign revocations.json (SPEC Revocations) into the mirror tree. */
  revoke(options: RevokeOptions): Promise<void>;
  /** (Re)sign a mirror file: `<path>.asc` over its current bytes. */
  sign(path: string, signers?: TestKey[]): Promise<void>;
  tide(args: string[], env?: Record<string, string>): Promise<TideRun>;
  /** What the front end serves now ("demo 1.1.0"), or an error description. */
  serving(): Promise<string>;
  /** With `webUi`: the web UI nginx serves from the linked web/ dir ("<h1>demo 1.1.0</h1>"). */
  servingUi(): Promise<string>;
  stateJson(): {
    bad: string[];
    history: { from: string | null; to: string; result: string; reason?: string }[];
    sequences: Record<string, number>;
    revocations: { sequence: number | null; versions: string[]; keys: string[] };
  };
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
  /** Keys that sign the pointer and the manifest (default: the first trusted key). */
  signers?: TestKey[];
  /** Fields set on (or, when undefined, removed from) the pointer before it is signed. */
  pointerFields?: Record<string, unknown>;
  /** Fields set on (or removed from) the manifest before it is signed. */
  manifestFields?: Record<string, unknown>;
  /** A ready .tar.gz to publish instead of the GNU tar build of the app tree. */
  bundle?: Buffer;
  /** SPEC Release manifest `image` artifacts: oci-archive files copied to releases/<v>/<path>. */
  images?: PublishedImage[];
}

export interface PublishedImage {
  /** The ref the manifest names (the archive may carry another, to test the refusal). */
  ref: string;
  /** An oci-archive made with `podman save --format oci-archive`. */
  archive: string;
  /** Default images/<repository name>.oci.tar. */
  path?: string;
}

export interface RevokeOptions {
  versions?: string[];
  keys?: string[];
  sequence?: number;
  expires?: string;
  signers?: TestKey[];
}

export interface HostFixtureOptions {
  health?: string;
  extraConfig?: string;
  /** How the mirror tree is served: file:// (default), a Node static server, or nginx, both on 127.0.0.1. */
  serve?: 'file' | 'http' | 'nginx';
  /** The config's mirror list, given the fixture's own mirror URL (default: just that one). */
  mirrors?: (own: string) => string[];
  /** How many trusted keys the config lists (default 1). */
  trustedKeys?: number;
  /** The config's threshold (default: not set, so 1). */
  threshold?: number;
  /** Top-level keys added before the first table, e.g. `max_unpacked = "64KiB"`. */
  topConfig?: string;
  /** Also link the bundle's web/ dir and let nginx serve it at /ui/ (see servingUi). */
  webUi?: boolean;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Serve the mirror tree as asked; returns its URL and how to stop the server. */
async function serveMirror(mirrorDir: string, how: HostFixtureOptions['serve']): Promise<{ url: string; server?: MirrorHttpServer; stop: () => Promise<void> }> {
  if (how === 'http') {
    const server = await serveMirrorDir(mirrorDir);
    return { url: server.url, server, stop: () => server.close() };
  }
  if (how === 'nginx') {
    const nginx: RunningNginx = await startNginx({ root: mirrorDir });
    return { url: nginx.url, stop: () => nginx.stop() };
  }
  return { url: 'file://' + mirrorDir, stop: async () => undefined };
}

export async function createHostFixture(opts: HostFixtureOptions = {}): Promise<HostFixture> {
  const tmp = tempDir('tide-host-');
  const dir = tmp.path;
  const stateDir = join(dir, 'state');
  const mirrorDir = join(dir, 'mirror');
  const linkPath = join(dir, 'usr-local-bin', 'demo');
  mkdirSync(mirrorDir, { recursive: true });
  const keys: TestKey[] = [];
  const keyFiles: string[] = [];
  for (let i = 0; i < (opts.trustedKeys ?? 1); i++) {
    const name = i === 0 ? 'release' : `release${i + 1}`;
    keys.push(await makeKey(name));
    keyFiles.push(`${name}.pub.asc`);
    writeFileSync(join(dir, `${name}.pub.asc`), keys[i]!.publicArmored);
  }
  const key = keys[0]!;
  const mirror = await serveMirror(mirrorDir, opts.serve);
  const servicePort = await freePort();
  const webLink = join(dir, 'srv', 'demo-web');
  const nginx = await startNginxProxy(servicePort, opts.webUi ? { staticDirs: { '/ui/': webLink } } : {});
  const restart = writeRestartScript(dir, { link: linkPath, port: servicePort });
  const configPath = join(dir, 'tide.toml');
  const mirrors = opts.mirrors ? opts.mirrors(mirror.url) : [mirror.url];
  writeFileSync(configPath, `app = "demo"
channel = "stable"
state_dir = ${JSON.stringify(stateDir)}
mirrors = ${JSON.stringify(mirrors)}
keys = ${JSON.stringify(keyFiles)}
${opts.threshold !== undefined ? `threshold = ${opts.threshold}\n` : ''}keep = 1
machine_id = "test-machine"
${opts.topConfig ?? ''}

[[link]]
path = ${JSON.stringify(linkPath)}
target = "bin/demo"
${opts.webUi ? `\n[[link]]\npath = ${JSON.stringify(webLink)}\ntarget = "web"\n` : ''}
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

  /** Set (or, for undefined, remove) fields of a document before it is signed. */
  function withFields(doc: Record<string, unknown>, fields: Record<string, unknown> = {}): Buffer {
    const out: Record<string, unknown> = { ...doc };
    for (const [name, value] of Object.entries(fields)) {
      if (value === undefined) delete out[name];
      else out[name] = value;
    }
    return Buffer.from(JSON.stringify(out, null, 2));
  }

  async function sign(path: string, signers: TestKey[] = [key]): Promise<void> {
    const file = join(mirrorDir, path);
    writeFileSync(`${file}.asc`, await detachSign(readFileSync(file), signers));
  }

  function buildBundle(version: string, behaviour: ServiceBehaviour, extraFiles: Record<string, string> | undefined, dest: string): void {
    const tree = join(dir, 'build', version);
    rmSync(tree, { recursive: true, force: true });
    writeAppTree(tree, version, behaviour, extraFiles);
    const entries = spawnSync('ls', [tree]).stdout.toString().trim().split('\n');
    const tar = spawnSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-czf', dest, '-C', tree, ...entries]);
    if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr}`);
  }

  function publishImages(releaseDir: string, images: PublishedImage[]): Record<string, unknown>[] {
    return images.map((image) => {
      const name = image.ref.slice(image.ref.lastIndexOf('/') + 1).split(':')[0];
      const path = image.path ?? `images/${name}.oci.tar`;
      mkdirSync(dirname(join(releaseDir, path)), { recursive: true });
      const bytes = readFileSync(image.archive);
      writeFileSync(join(releaseDir, path), bytes);
      return { type: 'image', path, size: bytes.length, sha256: sha256(bytes), image: image.ref };
    });
  }

  async function publish(version: string, behaviour: ServiceBehaviour = 'good', p: PublishOptions = {}): Promise<void> {
    const channel = p.channel ?? 'stable';
    const signers = p.signers ?? [key];
    const releaseDir = join(mirrorDir, 'releases', version);
    mkdirSync(releaseDir, { recursive: true });
    const bundleName = `demo-${version}.tar.gz`;
    if (p.bundle) writeFileSync(join(releaseDir, bundleName), p.bundle);
    else buildBundle(version, behaviour, p.extraFiles, join(releaseDir, bundleName));
    const bundle = readFileSync(join(releaseDir, bundleName));
    const manifest = withFields({
      schema: 1, app: 'demo', version, published: new Date().toISOString(),
      artifacts: [{ type: 'bundle', path: bundleName, size: bundle.length, sha256: sha256(bundle) }, ...publishImages(releaseDir, p.images ?? [])],
    }, p.manifestFields);
    writeFileSync(join(releaseDir, 'manifest.json'), manifest);
    await sign(`releases/${version}/manifest.json`, signers);
    if (p.noPointer) return;
    sequence = p.sequence ?? sequence + 1;
    const pointer = withFields({
      schema: 1, app: 'demo', channel, version, sequence,
      published: new Date().toISOString(),
      expires: p.expires ?? new Date(Date.now() + 86_400_000).toISOString(),
      manifest: { path: `releases/${version}/manifest.json`, size: manifest.length, sha256: sha256(manifest) },
      ...(p.rolloutPercent !== undefined ? { rollout: { percent: p.rolloutPercent } } : {}),
    }, p.pointerFields);
    mkdirSync(join(mirrorDir, 'channels'), { recursive: true });
    writeFileSync(join(mirrorDir, 'channels', `${channel}.json`), pointer);
    await sign(`channels/${channel}.json`, signers);
  }

  let revocationSequence = 0;
  async function revoke(r: RevokeOptions): Promise<void> {
    revocationSequence = r.sequence ?? revocationSequence + 1;
    const document = Buffer.from(JSON.stringify({
      schema: 1, app: 'demo', sequence: revocationSequence,
      published: new Date().toISOString(),
      expires: r.expires ?? new Date(Date.now() + 86_400_000).toISOString(),
      versions: r.versions ?? [], keys: r.keys ?? [],
    }, null, 2));
    mkdirSync(dirname(join(mirrorDir, 'revocations.json')), { recursive: true });
    writeFileSync(join(mirrorDir, 'revocations.json'), document);
    await sign('revocations.json', r.signers ?? [key]);
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

  async function servingUi(): Promise<string> {
    try {
      const res = await fetch(new URL('ui/index.html', nginx.url), { signal: AbortSignal.timeout(2000) });
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
    await mirror.stop();
    tmp.cleanup();
  }

  return {
    dir, stateDir, mirrorDir, configPath, linkPath, servicePort, nginx, key, keys,
    mirrorUrl: mirror.url, mirrorServer: mirror.server,
    publish, revoke, sign, tide, serving, servingUi, stateJson, cleanup,
  };
}
