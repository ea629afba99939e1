// `npm run demo`: the whole story, for real, in a temp dir that is removed after.
// A release engineer makes a key, builds and publishes releases to two mirrors
// (nginx over HTTP when the machine has it, and file://); a host installs 1.0.0,
// updates to 1.1.0 (healthy, committed), then to a broken 1.2.0 that tide rolls
// back on its own, then to 1.3.0, which passes its startup check, is committed, dies
// a few seconds later and is rolled back in probation. Exits 0 only when the story
// went exactly like that.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, chmodSync, cpSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from './lib/free-port.js';
import { startNginx } from './lib/nginx.js';
import { stopService, writeRestartScript } from './lib/service-app.js';
import { releaseInputs } from './demo/release-inputs.js';
import { startFrontEnd, type FrontEnd } from './demo/front-end.js';
import { step, say, tide, expect, StoryBroken } from './demo/steps.js';
import { demoContainers, type DemoContainers } from './demo/containers.js';

const root = mkdtempSync(join(tmpdir(), 'tide-demo-'));
const cleanups: (() => Promise<void> | void)[] = [() => rmSync(root, { recursive: true, force: true })];

async function main(): Promise<void> {
  const keys = join(root, 'keys');
  const tree = join(root, 'release-tree');
  const mirrorA = join(root, 'mirror-a');
  const mirrorB = join(root, 'mirror-b');
  const host = join(root, 'host');
  for (const d of [keys, mirrorA, mirrorB, host]) mkdirSync(d, { recursive: true });
  const hasNginx = existsSync('/usr/sbin/nginx');

  step('The release engineer makes a signing key');
  await tide(['release', 'keygen', '--name', 'demo-release', '--out', keys]);
  const key = join(keys, 'demo-release.key.asc');
  const pub = join(keys, 'demo-release.pub.asc');

  step('The mirrors: one over HTTP, one file://');
  let httpMirror = `file://${mirrorA}`;
  if (hasNginx) {
    const nginx = await startNginx({ root: mirrorA });
    cleanups.push(() => nginx.stop());
    httpMirror = nginx.url.replace(/\/$/, '');
    say(`mirror A: nginx serving ${mirrorA} at ${httpMirror}`);
  } else {
    say('nginx is not installed: mirror A is file:// too');
  }
  say(`mirror B: file://${mirrorB}`);

  const servicePort = await freePort();
  const link = join(host, 'usr-local-bin', 'demo');
  const webLink = join(host, 'srv', 'www');
  const front = await startFrontEnd({ servicePort, webRoot: webLink, useNginx: hasNginx });
  cleanups.push(() => front.stop());
  const containers = await demoContainers(root);
  if (containers) cleanups.push(() => containers.stop());
  say(containers ? `podman: a container demo-web (busybox httpd, isolated storage) swaps with every release, in stage "backend" before the service's stage "app"` : 'podman is not installed: the demo runs without a container');
  const podmanEnv = containers?.env ?? {};
  const restart = writeRestartScript(host, { link, port: servicePort });
  cleanups.push(() => stopService(host));
  const config = writeHostConfig(host, { mirrors: [httpMirror, `file://${mirrorB}`], pub, link, webLink, restart, front, containers });
  say(`front end: ${front.kind} on ${front.url} (the UI from ${webLink}, /api/ proxied to the service)`);

  const release = async (version: string, note: string) => {
    step(`Release ${version}: ${note}`);
    const inputs = releaseInputs(version);
    say(`inputs: releases/${version}/bundle (the service and the web UI) and releases/${version}/image (the image recipe), plus web/vendor.js, the same in every release`);
    const imageArgs = containers ? ['--image', await containers.image(inputs.image), '--podman-argv', JSON.stringify(containers.argv)] : [];
    const bundleDir = withVendorScript(inputs.bundleDir, join(root, 'src', version));
    await tide(['release', 'build', '--app', 'demo', '--version', version, '--from', bundleDir, '--tree', tree, '--key', key, ...imageArgs], podmanEnv);
    await tide(['release', 'promote', '--app', 'demo', '--channel', 'stable', '--version', version, '--key', key, '--tree', tree]);
    await tide(['release', 'publish', '--tree', tree, mirrorA, mirrorB]);
  };

  await release('1.0.0', 'build, sign, promote to stable, publish to both mirrors');
  step('The host installs 1.0.0');
  const installed = await tide(['--config', config, 'update'], podmanEnv);
  expect('tide update installs 1.0.0 (exit 0)', installed.code === 0);
  expect('the front end serves 1.0.0', (await front.serving()) === 'demo 1.0.0');
  if (containers) {
    expect('the container serves demo-web 1.0.0', (await containers.serving()) === 'demo-web 1.0.0');
    const passed = installed.stderr.indexOf('stage "backend" passed');
    const restarted = installed.stderr.indexOf('restarting:');
    expect('stage "backend" (demo-web) passed its probes before the service of stage "app" was restarted', passed !== -1 && restarted > passed);
  }

  step('A web-UI root of mode 0700 (the incident that broke nginx) never ships as 0700');
  const bad = join(root, 'src', 'bad-perms');
  cpSync(releaseInputs('1.0.0').bundleDir, bad, { recursive: true });
  chmodSync(join(bad, 'web'), 0o700);
  const scratch = join(root, 'scratch-tree');
  const built = await tide(['release', 'build', '--app', 'demo', '--version', '1.0.1', '--from', bad, '--tree', scratch]);
  const listing = spawnSync('tar', ['-tvzf', join(scratch, 'releases', '1.0.1', 'demo-1.0.1.tar.gz')]).stdout.toString();
  say(`$ tar -tvzf demo-1.0.1.tar.gz\n${listing.trim().replace(/^/gm, '     ')}`);
  expect('the bundle holds web/ as drwxr-xr-x (normalised, then re-checked before it is written)', built.code === 0 && /^drwxr-xr-x .* web\/?$/m.test(listing));

  await release('1.1.0', 'a healthy update');
  step('The host checks, then updates to 1.1.0');
  expect('tide check says an update is available (exit 100)', (await tide(['--config', config, 'check'])).code === 100);
  const updated = await tide(['--config', config, 'update', '--json'], podmanEnv);
  expect('tide update commits 1.1.0 (exit 0)', updated.code === 0);
  // SPEC delta.md#what-a-host-does: 1.1.0 shares web/vendor.js with the kept 1.0.0: only the changed files are fetched.
  const transfers = (JSON.parse(updated.stdout) as { transfers: { type: string; how: string; fetchedBytes: number; reusedBytes: number; from?: string }[] }).transfers;
  const delta = transfers.find((t) => t.type === 'tree');
  expect(`1.1.0 was staged as a delta from 1.0.0: ${delta?.fetchedBytes} bytes fetched, ${delta?.reusedBytes} bytes reused, the bundle not fetched`,
    delta?.how === 'delta' && delta.from === '1.0.0' && delta.reusedBytes > delta.fetchedBytes && !transfers.some((t) => t.type === 'bundle'));
  expect('the front end serves 1.1.0', (await front.serving()) === 'demo 1.1.0');
  if (containers) expect('the container swapped to demo-web 1.1.0', (await containers.serving()) === 'demo-web 1.1.0');

  await release('1.2.0', 'a broken build: the service exits at start');
  step('The host updates to 1.2.0; the health probe fails; tide rolls back by itself');
  const failed = await tide(['--config', config, 'update'], podmanEnv);
  expect('tide update exits 5: unhealthy, rolled back to a healthy 1.1.0', failed.code === 5);
  expect('the front end serves 1.1.0 again', (await front.serving()) === 'demo 1.1.0');
  if (containers) {
    expect('the container is back on demo-web 1.1.0', (await containers.serving()) === 'demo-web 1.1.0');
    expect('podman ps -a shows only demo-web on 1.1.0, nothing left of 1.2.0', (await containers.listing()) === 'demo-web localhost/demo-web:1.1.0 running');
  }
  expect('the next unattended run skips the bad 1.2.0 (exit 0)', (await tide(['--config', config, 'update'], podmanEnv)).code === 0);

  await release('1.3.0', 'a late failure: healthy at start, out of memory 5 s later');
  step('The host updates to 1.3.0; it passes its startup check and is committed; probation catches it dying');
  const late = await tide(['--config', config, 'update'], podmanEnv);
  expect('tide update exits 5: committed, then unhealthy in probation, rolled back to 1.1.0', late.code === 5 && /in probation after its commit/.test(late.stdout));
  expect('the front end serves 1.1.0 again', (await front.serving()) === 'demo 1.1.0');
  if (containers) expect('the container is back on demo-web 1.1.0 (kept until probation ended)', (await containers.serving()) === 'demo-web 1.1.0');

  step('What the operator sees');
  const status = await tide(['--config', config, 'status'], podmanEnv);
  await tide(['--config', config, 'history']);
  const json = JSON.parse((await tide(['--config', config, 'status', '--json'])).stdout) as { current: string; previous: string; bad: string[] };
  expect('status: current 1.1.0, previous 1.0.0, bad [1.2.0, 1.3.0]', status.code === 0 && json.current === '1.1.0' && json.previous === '1.0.0' && json.bad.join() === '1.2.0,1.3.0');

  step('The release engineer checks the mirrors');
  const mirrors = await tide(['release', 'status', '--mirror', httpMirror, '--mirror', `file://${mirrorB}`, '--key', pub, '--app', 'demo', '--channel', 'stable']);
  expect('both mirrors are in sync (exit 0)', mirrors.code === 0);
}

/** The release's bundle inputs plus a web/vendor.js that every release shares (what a delta update reuses). */
function withVendorScript(bundleDir: string, into: string): string {
  cpSync(bundleDir, into, { recursive: true });
  const lines = Array.from({ length: 4000 }, (_, i) => `export const vendor${i} = (x) => x * ${i} + ${(i * 7919) % 1000};`);
  writeFileSync(join(into, 'web', 'vendor.js'), lines.join('\n') + '\n', { mode: 0o644 });
  chmodSync(join(into, 'web', 'vendor.js'), 0o644);
  return into;
}

function writeHostConfig(host: string, o: { mirrors: string[]; pub: string; link: string; webLink: string; restart: string; front: FrontEnd; containers: DemoContainers | null }): string {
  const path = join(host, 'tide.toml');
  writeFileSync(path, `app = "demo"
channel = "stable"
state_dir = ${JSON.stringify(join(host, 'state'))}
mirrors = ${JSON.stringify(o.mirrors)}
keys = [${JSON.stringify(o.pub)}]
machine_id = "demo-host"

[[link]]
path = ${JSON.stringify(o.link)}
target = "bin/demo"

[[link]]
path = ${JSON.stringify(o.webLink)}
target = "web"

[service]
restart = [${JSON.stringify(o.restart)}]

[health]
timeout = "30s"
interval = "500ms"
stable = "3s"
# After the commit, keep watching this long; a failure lasting \`stable\` rolls back.
probation = "12s"

[[health.probe]]
type = "http"
url = "${o.front.url}api/"
expect = 200

[[health.probe]]
type = "http"
url = "${o.front.url}"
body = "<h1>demo"
${o.containers?.config ?? ''}`);
  return path;
}

let exitCode = 0;
try {
  await main();
  process.stdout.write('\n\x1b[1mThe story went as told: 1.0.0 installed, 1.1.0 committed, 1.2.0 rolled back by itself, 1.3.0 rolled back in probation.\x1b[0m\n');
} catch (err) {
  exitCode = 1;
  process.stdout.write(`\n\x1b[31mThe demo did not go as told: ${err instanceof StoryBroken ? err.message : (err as Error).stack}\x1b[0m\n`);
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup();
}
process.exit(exitCode);
