// test-needs: network, podman
// A black-box check written from the formats and commands docs alone, as a new user (and the acceptance
// suite) would: GnuPG signs, Python's tarfile builds the bundles, Python's
// http.server is the mirror, the config follows the spec's example, and only the
// spec's files, commands and exit codes are used. Nothing of tide's own code or
// test helpers is imported: the binary is the interface.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const tideBin = new URL('../../src/cli/bin.js', import.meta.url).pathname;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

// The service: a Python HTTP server that answers "demo <version>", or dies at start.
const serviceSource = (version: string, healthy: boolean) => `#!/usr/bin/env python3
import http.server, os, sys
${healthy ? '' : 'sys.exit("demo cannot start")'}
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"demo ${version}\\n"
        self.send_response(200); self.send_header("content-length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *args): pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["DEMO_PORT"])), Handler).serve_forever()
`;

// SPEC formats.md#bundle-rules: a gzip-compressed tar; directories 0755, files 0644 or 0755, owners ignored.
const tarScript = `
import io, json, sys, tarfile
spec = json.load(sys.stdin)
with tarfile.open(spec["out"], "w:gz", format=tarfile.PAX_FORMAT) as tar:
    for e in spec["entries"]:
        info = tarfile.TarInfo(e["name"])
        info.mode = e["mode"]; info.uid = 1000; info.gid = 1000; info.mtime = 1700000000
        if e["type"] == "dir":
            info.type = tarfile.DIRTYPE; tar.addfile(info)
        else:
            data = e["data"].encode(); info.size = len(data); tar.addfile(info, io.BytesIO(data))
`;

function bundle(out: string, version: string, options: { healthy?: boolean; webMode?: number } = {}): Buffer {
  const entries = [
    { name: 'bin', type: 'dir', mode: 0o755 },
    { name: 'bin/demo', type: 'file', mode: 0o755, data: serviceSource(version, options.healthy ?? true) },
    { name: 'web', type: 'dir', mode: options.webMode ?? 0o755 },
    { name: 'web/index.html', type: 'file', mode: 0o644, data: `<h1>demo ${version}</h1>\n` },
  ];
  execFileSync('python3', ['-c', tarScript], { input: JSON.stringify({ out, entries }) });
  return readFileSync(out);
}

interface World {
  dir: string;
  mirror: string;
  gpg: (...args: string[]) => string;
  servicePort: number;
  config: string;
  sequence: number;
}

/** SPEC formats.md#mirror-tree: releases/<version>/ with the manifest, then channels/stable.json, each with a gpg .asc. */
function publish(w: World, version: string, options: { healthy?: boolean; webMode?: number } = {}): void {
  const release = join(w.mirror, 'releases', version);
  mkdirSync(release, { recursive: true });
  const name = `demo-${version}.tar.gz`;
  const bytes = bundle(join(release, name), version, options);
  const manifest = Buffer.from(JSON.stringify({
    schema: 1, app: 'demo', version, published: new Date().toISOString(),
    artifacts: [{ type: 'bundle', path: name, size: bytes.length, sha256: sha256(bytes) }],
  }, null, 2) + '\n');
  writeFileSync(join(release, 'manifest.json'), manifest);
  w.gpg('--detach-sign', '--armor', '--yes', '-o', join(release, 'manifest.json.asc'), join(release, 'manifest.json'));
  w.sequence += 1;
  mkdirSync(join(w.mirror, 'channels'), { recursive: true });
  const pointer = join(w.mirror, 'channels', 'stable.json');
  writeFileSync(pointer, JSON.stringify({
    schema: 1, app: 'demo', channel: 'stable', version, sequence: w.sequence,
    published: new Date().toISOString(), expires: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    manifest: { path: `releases/${version}/manifest.json`, size: manifest.length, sha256: sha256(manifest) },
  }, null, 2) + '\n');
  w.gpg('--detach-sign', '--armor', '--yes', '-o', `${pointer}.asc`, pointer);
}

function tide(w: World, ...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [tideBin, '--config', w.config, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

async function served(w: World): Promise<string> {
  try {
    return (await (await fetch(`http://127.0.0.1:${w.servicePort}/`, { signal: AbortSignal.timeout(2000) })).text()).trim();
  } catch (err) {
    return `error: ${(err as Error).message}`;
  }
}

/** Python's http.server on a free port, serving `root`; resolves with its URL once it listens. */
function staticServer(root: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn('python3', ['-u', '-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', root], { stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`http.server did not start: ${out}`)), 10_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const port = /port (\d+)/.exec(out)?.[1];
      if (port) {
        clearTimeout(timer);
        resolve({ url: `http://127.0.0.1:${port}`, child });
      }
    });
  });
}

function writeConfig(dir: string, mirrors: string[], servicePort: number): string {
  const restart = join(dir, 'restart.sh');
  writeFileSync(restart, `#!/bin/sh
pidfile=${dir}/service.pid
[ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null && sleep 0.3
DEMO_PORT=${servicePort} nohup ${dir}/usr/local/bin/demo >> ${dir}/service.log 2>&1 &
echo $! > "$pidfile"
`);
  chmodSync(restart, 0o755);
  const config = join(dir, 'etc/tide/tide.toml');
  // The spec's example, with paths under the temp dir and a restart script instead of systemctl.
  writeFileSync(config, `app = "demo"
channel = "stable"
state_dir = "${dir}/var/lib/tide/demo"
mirrors = ${JSON.stringify(mirrors)}
keys = ["${dir}/etc/tide/keys/release.pub.asc"]   # trusted armored public keys
threshold = 1                               # distinct trusted keys that must sign
keep = 1                                    # old versions kept beyond current and previous
max_unpacked = "1GiB"                       # refuse bundles that unpack to more

[[link]]
path = "${dir}/usr/local/bin/demo"          # becomes a symlink to <state_dir>/current/bin/demo
target = "bin/demo"

[service]
restart = ["${restart}"]

[podman]
argv = ["podman", "--root", "${dir}/podman/root", "--runroot", "${dir}/podman/run"]

[health]            # durations: "500ms", "2s", "5m"
timeout = "20s"     # give up and roll back after this long
start = "10s"       # every probe must have passed once by then (default: timeout)
interval = "200ms"
stable = "1s"       # every probe must pass continuously this long

[[health.probe]]
type = "http"       # http | tcp | container | unit | command
url = "http://127.0.0.1:${servicePort}/"
expect = 200
insecure = true

[schedule]
cron = "17 * * * *" # used by \`tide daemon\`
`);
  return config;
}

test('a new user publishes with gpg and tarfile; tide checks, updates, refuses and rolls back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tide-blackbox-'));
  const home = join(dir, 'gnupg');
  mkdirSync(home, { mode: 0o700 });
  mkdirSync(join(dir, 'etc/tide/keys'), { recursive: true });
  const gpg = (...args: string[]) => execFileSync('gpg', ['--batch', '--homedir', home, '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const www = join(dir, 'srv/www');
  mkdirSync(join(www, 'demo'), { recursive: true });
  let server: ChildProcess | undefined;
  try {
    gpg('--quick-gen-key', 'Demo Release <release@demo.example>', 'ed25519', 'sign', 'never');
    writeFileSync(join(dir, 'etc/tide/keys/release.pub.asc'), gpg('--armor', '--export', 'release@demo.example'));
    const mirror = await staticServer(www);
    server = mirror.child;
    const servicePort = await freePort();
    // Two mirrors as in the spec's example: one over HTTP, one file:// (the same tree here).
    const config = writeConfig(dir, [`${mirror.url}/demo`, `file://${www}/demo`], servicePort);
    const w: World = { dir, mirror: join(www, 'demo'), gpg, servicePort, config, sequence: 0 };

    publish(w, '1.0.0');
    assert.is(tide(w, 'check').code, 100, 'check: an update is available');
    const first = tide(w, 'update');
    assert.is(first.code, 0, first.stderr);
    assert.is(await served(w), 'demo 1.0.0');
    assert.is(tide(w, 'check').code, 0, 'check: up to date');
    const status = JSON.parse(tide(w, 'status', '--json').stdout);
    assert.is(status.app, 'demo');
    assert.is(status.current, '1.0.0');
    assert.is(status.pending, null);

    // A web UI root of mode 0700 is refused (exit 3), and 1.0.0 keeps running.
    publish(w, '1.1.0', { webMode: 0o700 });
    const refused = tide(w, 'update');
    assert.is(refused.code, 3, refused.stderr);
    assert.match(refused.stderr.trim().split('\n').at(-1)!, /web/);
    assert.is(await served(w), 'demo 1.0.0');

    // A release that dies at start is rolled back (exit 5) and remembered as bad.
    publish(w, '1.2.0', { healthy: false });
    const rolled = tide(w, 'update');
    assert.is(rolled.code, 5, rolled.stdout + rolled.stderr);
    assert.is(await served(w), 'demo 1.0.0');
    const after = JSON.parse(tide(w, 'status', '--json').stdout);
    assert.is(after.current, '1.0.0');
    assert.ok(after.bad.includes('1.2.0'), JSON.stringify(after));

    publish(w, '1.3.0');
    const good = tide(w, 'update');
    assert.is(good.code, 0, good.stderr);
    assert.is(await served(w), 'demo 1.3.0');
    const history = JSON.parse(tide(w, 'history', '--json').stdout) as { to: string; result: string }[];
    assert.equal(history.map((h) => `${h.to} ${h.result}`).filter((h) => !h.startsWith('1.1.0')), ['1.0.0 committed', '1.2.0 rolled-back', '1.3.0 committed']);

    // Bytes changed on the mirrors after signing: refused (exit 3).
    const pointer = join(w.mirror, 'channels/stable.json');
    writeFileSync(pointer, readFileSync(pointer, 'utf8').replace('"sequence": 4', '"sequence": 5'));
    const tampered = tide(w, 'check');
    assert.is(tampered.code, 3, tampered.stderr);
    assert.match(tampered.stderr, /signature/);
    // No mirror answers: exit 4.
    rmSync(join(w.mirror, 'channels'), { recursive: true });
    assert.is(tide(w, 'check').code, 4);
    assert.is(await served(w), 'demo 1.3.0');
  } finally {
    server?.kill();
    const pid = join(dir, 'service.pid');
    if (existsSync(pid)) try { process.kill(Number(readFileSync(pid, 'utf8')), 'SIGKILL'); } catch { /* gone */ }
    spawnSync('gpgconf', ['--homedir', home, '--kill', 'all']);
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
