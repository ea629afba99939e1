// test-needs: systemd, podman, nginx
// Containers through tide's own units on a real host: one lab machine (Debian 12,
// systemd as PID 1 in systemd-nspawn, Debian's podman and crun), tide installed by
// scripts/install.sh, podman through the documented systemd-run argv, the machine's
// /etc/containers set up as docs/containers.md says for a host like this one (a
// container on a cgroup-v1 kernel). Images are built on the host, as a release
// engineer builds them, and reach the machine only inside signed releases. In order,
// as one host's life: first install, a swap, a broken container rolled back, two
// releases that add a container rolled back, one that adds it for good, the
// reconciler, recover at boot, and power cuts while swapping and probing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { freePort } from '../../scripts/lib/free-port.js';
import { httpText } from '../../scripts/lib/http-text.js';
import { importWebImage } from '../../scripts/lib/podman-images.js';
import { isolatedPodman, type IsolatedPodman } from '../../scripts/lib/podman.js';
import type { ServiceBehaviour } from '../../scripts/lib/service-app.js';
import type { PublishedImage } from '../helpers/mirror-publisher.js';
import { tempDir } from '../helpers/tmp.js';
import { importExitingImage, saveArchive } from '../containers/podman-images.js';
import { createDemoHost, waitFor, type DemoHost, type JournalLine } from './demo-host.js';

// docs/install.md#podman-runs-outside-the-sandbox, exactly.
const podmanArgv = ['systemd-run', '--quiet', '--collect', '--wait', '--pipe', '-p', 'KillMode=process', '--', 'podman'];

// docs/containers.md#podman-on-cgroup-v1-or-in-a-container: what this kind of host needs.
const containersConf = `# A systemd-nspawn machine on a cgroup-v1 kernel (docs/containers.md).
[containers]
# The cgroup-v1 controllers are read-only inside the machine: no cgroup per container (crun only).
cgroups = "disabled"
# systemd-nspawn's seccomp filter refuses keyctl: no session keyring per container.
keyring = false

[engine]
runtime = "crun"
`;
type WebImage = 'serves' | 'exits';
type ExtraImage = 'serves' | 'cannot-start';

let host: DemoHost;
let build: IsolatedPodman;
let work: { path: string; cleanup: () => void };
const ports = { web: 0, extra: 0 };

const messages = (lines: JournalLine[]) => lines.map((line) => line.message).join('\n');

function containerConfig(): string {
  const container = (name: string, port: number) => `
[[container]]
name = "${name}"
image = "localhost/${name}"
args = ["--network", "host", "--env", "PORT=${port}", "--stop-timeout", "2"]
`;
  return `
[[health.probe]]
type = "http"
url = "http://127.0.0.1:${ports.web}/"
expect = 200

[[health.probe]]
type = "container"
name = "demo-web"

[[health.probe]]
type = "container"
name = "demo-extra"

[podman]
argv = ${JSON.stringify(podmanArgv)}
${container('demo-web', ports.web)}${container('demo-extra', ports.extra)}`;
}

/** The release's images, built and saved on the host (`podman save --format oci-archive`). */
async function images(version: string, web: WebImage, extra?: ExtraImage): Promise<PublishedImage[]> {
  const published: PublishedImage[] = [];
  const webRef = `localhost/demo-web:${version}`;
  if (web === 'serves') await importWebImage(build, webRef, `web ${version}`);
  else await importExitingImage(build, webRef, `web ${version}`);
  published.push({ ref: webRef, archive: await saveArchive(build, webRef, work.path) });
  if (extra) {
    const extraRef = `localhost/demo-extra:${version}`;
    // cannot-start: `podman run` creates it, then the runtime finds no such executable.
    if (extra === 'serves') await importWebImage(build, extraRef, `extra ${version}`);
    else await build.importBusyboxImage(extraRef, ['CMD ["/bin/no-such-program"]']);
    published.push({ ref: extraRef, archive: await saveArchive(build, extraRef, work.path) });
  }
  return published;
}

async function publish(version: string, o: { web: WebImage; extra?: ExtraImage; app?: ServiceBehaviour }): Promise<void> {
  await host.publish(version, o.app ?? 'good', { images: await images(version, o.web, o.extra) });
}

interface Listed { name: string; image: string; state: string }

/** `podman ps -a` inside the machine, as an operator would look. */
async function containers(): Promise<Listed[]> {
  const ran = await host.machine.run(['podman', 'ps', '-a', '--format', 'json']);
  assert.is(ran.code, 0, ran.stderr);
  const rows = JSON.parse(ran.stdout || '[]') as { Names: string[]; Image: string; State: string }[];
  return rows.map((r) => ({ name: r.Names[0]!, image: r.Image, state: r.State })).sort((a, b) => a.name.localeCompare(b.name));
}

interface ContainerRow { name: string; image: string; state: string }

async function statusContainers(): Promise<{ current: string | null; lastResult: string | null; bad: string[]; pending: unknown; containers: ContainerRow[] }> {
  const ran = await host.tide(['status', '--json']);
  assert.is(ran.code, 0, ran.stderr);
  const shown = JSON.parse(ran.stdout) as { current: string | null; lastResult: string | null; bad: string[]; pending: unknown; containers?: ContainerRow[] };
  return { ...shown, containers: (shown.containers ?? []).map((c) => ({ name: c.name, image: c.image, state: c.state })) };
}

/** What the machine serves: the app (web UI and API through nginx) and each container's port. */
async function serving(): Promise<{ app: string; web: string; extra: string }> {
  const app = await host.serving();
  return { app: app.api, web: await httpText(ports.web, 5), extra: await httpText(ports.extra, 1) };
}

const refused = /^error: /;

async function updateThroughTheUnit(): Promise<{ exitStatus: number; journal: JournalLine[] }> {
  const run = await host.startUnit('tide-update.service');
  return { exitStatus: run.exitStatus, journal: await host.journal('tide-update.service') };
}

test.before(async () => {
  work = tempDir('tide-img-');
  build = isolatedPodman(join(work.path, 'b'));
  [ports.web, ports.extra] = [await freePort(), await freePort()];
  host = await createDemoHost({
    name: 'containers',
    extraConfig: containerConfig(),
    // The machine's /etc/containers/storage.conf (vfs) comes with the lab's root (build-root.sh).
    files: { '/etc/containers/containers.conf': containersConf },
  });
});

test.after(async () => {
  await host?.cleanup();
  await build?.removeAllContainers();
  work?.cleanup();
});

test('first install by tide-update.service: demo-web created through systemd-run, still running after its transient unit ended', async () => {
  await publish('1.0.0', { web: 'serves' });
  const run = await updateThroughTheUnit();
  assert.is(run.exitStatus, 0, messages(run.journal));
  assert.ok(run.journal.some((line) => line.event === 'containers' && /demo-web: started localhost\/demo-web:1\.0\.0/.test(line.message)), messages(run.journal));
  assert.not.match(messages(run.journal), /without -p KillMode=process/);
  // 1.0.0 has no image for demo-extra: not created, and its container probe did not apply.
  assert.equal(await containers(), [{ name: 'demo-web', image: 'localhost/demo-web:1.0.0', state: 'running' }]);
  const served = await serving();
  assert.equal([served.app, served.web], ['demo 1.0.0', 'web 1.0.0']);
  assert.match(served.extra, refused);
  const status = await statusContainers();
  assert.equal([status.current, status.lastResult, status.pending], ['1.0.0', 'committed', null]);
  assert.equal(status.containers, [{ name: 'demo-web', image: 'localhost/demo-web:1.0.0', state: 'running' }]);
  assert.is(host.marker(), null);
});

test('a swap: 1.1.0 changes the image; committed, nothing kept aside', async () => {
  await publish('1.1.0', { web: 'serves' });
  const run = await updateThroughTheUnit();
  assert.is(run.exitStatus, 0, messages(run.journal));
  assert.ok(run.journal.some((line) => /demo-web: stopped localhost\/demo-web:1\.0\.0, kept aside as demo-web\.tide-prev/.test(line.message)), messages(run.journal));
  assert.equal(await containers(), [{ name: 'demo-web', image: 'localhost/demo-web:1.1.0', state: 'running' }]);
  assert.equal((await serving()).web, 'web 1.1.0');
  const status = await statusContainers();
  assert.equal([status.current, status.lastResult], ['1.1.0', 'committed']);
  assert.equal(status.containers, [{ name: 'demo-web', image: 'localhost/demo-web:1.1.0', state: 'running' }]);
});

test('a release whose container exits at start: exit 5, the old container back and serving', async () => {
  await publish('1.2.0', { web: 'exits' });
  const run = await updateThroughTheUnit();
  assert.is(run.exitStatus, 5, messages(run.journal));
  assert.ok(run.journal.some((line) => line.event === 'rollback' && /rolled back to 1\.1\.0/.test(line.message)), messages(run.journal));
  assert.ok(run.journal.some((line) => /demo-web: restarted the container kept aside/.test(line.message)), messages(run.journal));
  assert.equal(await containers(), [{ name: 'demo-web', image: 'localhost/demo-web:1.1.0', state: 'running' }]);
  const served = await serving();
  assert.equal([served.app, served.web], ['demo 1.1.0', 'web 1.1.0']);
  const status = await statusContainers();
  assert.equal([status.current, status.lastResult, status.bad], ['1.1.0', 'rolled-back', ['1.2.0']]);
  assert.is(host.marker(), null);
});

test('a release that adds a container podman cannot start: exit 5, no Created container left, the old version not probed with its probe', async () => {
  await publish('1.3.0', { web: 'serves', extra: 'cannot-start' });
  const run = await updateThroughTheUnit();
  const said = messages(run.journal);
  assert.is(run.exitStatus, 5, said);
  assert.match(said, /container demo-extra for 1\.3\.0: /);
  assert.not.match(said, /container demo-extra (is missing|does not exist)/, 'the old version was probed with demo-extra\'s probe');
  assert.not.ok(run.journal.some((line) => line.result === 'rollback-failed'), said);
  assert.equal(await containers(), [{ name: 'demo-web', image: 'localhost/demo-web:1.1.0', state: 'running' }]);
  const status = await statusContainers();
  assert.equal([status.current, status.lastResult, status.bad], ['1.1.0', 'rolled-back', ['1.2.0', '1.3.0']]);
  assert.equal(status.containers, [{ name: 'demo-web', image: 'localhost/demo-web:1.1.0', state: 'running' }]);
});

test('a release that adds a container and fails elsewhere: the rollback removes the added container (exit 5)', async () => {
  await publish('1.4.0', { web: 'serves', extra: 'serves', app: 'crash' });
  const run = await updateThroughTheUnit();
  const said = messages(run.journal);
  assert.is(run.exitStatus, 5, said);
  assert.equal(await containers(), [{ name: 'demo-web', image: 'localhost/demo-web:1.1.0', state: 'running' }], said);
  assert.match(said, /demo-extra: started localhost\/demo-extra:1\.4\.0/);
  assert.match(said, /demo-extra: removed; 1\.1\.0 has no such container/);
  assert.not.ok(run.journal.some((line) => line.result === 'rollback-failed'), said);
  const served = await serving();
  assert.equal([served.app, served.web], ['demo 1.1.0', 'web 1.1.0']);
  assert.match(served.extra, refused);
  assert.equal((await statusContainers()).bad, ['1.2.0', '1.3.0', '1.4.0']);
});

test('a release that adds a container for good: both run, both probed', async () => {
  await publish('1.5.0', { web: 'serves', extra: 'serves' });
  const run = await updateThroughTheUnit();
  assert.is(run.exitStatus, 0, messages(run.journal));
  assert.equal(await containers(), [
    { name: 'demo-extra', image: 'localhost/demo-extra:1.5.0', state: 'running' },
    { name: 'demo-web', image: 'localhost/demo-web:1.5.0', state: 'running' },
  ]);
  assert.equal(await serving(), { app: 'demo 1.5.0', web: 'web 1.5.0', extra: 'extra 1.5.0' });
  const status = await statusContainers();
  assert.equal([status.current, status.lastResult], ['1.5.0', 'committed']);
  assert.equal(status.containers.map((c) => [c.name, c.state]), [['demo-web', 'running'], ['demo-extra', 'running']]);
});

test('tide-reconcile.service recreates a container removed behind tide\'s back', async () => {
  const removed = await host.machine.run(['podman', 'rm', '-f', '-t', '0', 'demo-extra']);
  assert.is(removed.code, 0, removed.stderr);
  const run = await host.startUnit('tide-reconcile.service');
  const journal = await host.journal('tide-reconcile.service');
  assert.is(run.exitStatus, 0, messages(journal));
  assert.ok(journal.some((line) => line.event === 'reconcile' && line.container === 'demo-extra' && line.action === 'recreated'), messages(journal));
  assert.equal((await serving()).extra, 'extra 1.5.0');
});

test('recover at boot: demo-web and its image removed, a power cut stops demo-extra; tide-verify.service brings both back for 1.5.0', async () => {
  // As after a lost podman store for demo-web: no container, no image; demo-extra only dies with the machine.
  const removed = await host.machine.sh('podman rm -f -t 0 demo-web && podman rmi localhost/demo-web:1.5.0');
  assert.is(removed.code, 0, removed.stderr);
  await host.machine.powerCut();
  await host.machine.boot();
  assert.is(await host.machine.waitBooted(), 'running', (await host.machine.run(['systemctl', '--failed', '--no-legend'])).stdout);
  const verify = await host.journal('tide-verify.service');
  assert.ok(verify.some((line) => /localhost\/demo-web:1\.5\.0 is missing: loading it again from the verified artifact of 1\.5\.0/.test(line.message)), messages(verify));
  assert.ok(verify.some((line) => /demo-web: started localhost\/demo-web:1\.5\.0/.test(line.message)), messages(verify));
  assert.ok(verify.some((line) => /demo-extra: started localhost\/demo-extra:1\.5\.0/.test(line.message)), messages(verify));
  assert.equal((await containers()).map((c) => [c.name, c.image, c.state]), [
    ['demo-extra', 'localhost/demo-extra:1.5.0', 'running'],
    ['demo-web', 'localhost/demo-web:1.5.0', 'running'],
  ]);
  assert.equal(await serving(), { app: 'demo 1.5.0', web: 'web 1.5.0', extra: 'extra 1.5.0' });
  const status = await statusContainers();
  assert.equal([status.current, status.pending], ['1.5.0', null]);
});

/** tide-update.service held at `hangAt` (TIDE_TEST_HANG_AT in PID 1's environment, so gone after the cut). */
async function updateHeldAt(hangAt: string): Promise<void> {
  await host.machine.run(['systemctl', 'set-environment', `TIDE_TEST_HANG_AT=${hangAt}`]);
  await host.machine.run(['systemctl', 'start', '--no-block', 'tide-update.service']);
  await waitFor(`tide-update at ${hangAt}`, async () => (await host.machine.run(['journalctl', '-b', '-u', 'tide-update.service', '-o', 'cat', '--no-pager', '-n', '20'])).stdout.includes(`test hook: hanging at ${hangAt}`), 60_000);
}

test('a power cut while probing a release whose container exits: at boot tide-verify rolls back, the old container back from aside', async () => {
  await publish('1.6.0', { web: 'exits' });
  await updateHeldAt('probing-1.6.0');
  assert.equal([host.marker()?.phase, host.marker()?.to], ['probing', '1.6.0']);
  await host.machine.powerCut();
  await host.machine.boot();
  assert.is(await host.machine.waitBooted(), 'running', (await host.machine.run(['systemctl', '--failed', '--no-legend'])).stdout);
  const verify = await host.journal('tide-verify.service');
  assert.ok(verify.some((line) => line.event === 'rollback' && /rolled back to 1\.5\.0/.test(line.message)), messages(verify));
  assert.is(host.marker(), null);
  assert.equal((await containers()).map((c) => [c.name, c.image, c.state]), [
    ['demo-extra', 'localhost/demo-extra:1.5.0', 'running'],
    ['demo-web', 'localhost/demo-web:1.5.0', 'running'],
  ]);
  assert.equal(await serving(), { app: 'demo 1.5.0', web: 'web 1.5.0', extra: 'extra 1.5.0' });
  const status = await statusContainers();
  assert.equal([status.current, status.lastResult, status.bad.at(-1)], ['1.5.0', 'rolled-back', '1.6.0']);
});

test('a power cut while swapping a healthy release: at boot tide-verify finishes the swap and commits it', async () => {
  await publish('1.7.0', { web: 'serves', extra: 'serves' });
  await updateHeldAt('between-flips');
  await host.machine.powerCut();
  await host.machine.boot();
  assert.is(await host.machine.waitBooted(), 'running', (await host.machine.run(['systemctl', '--failed', '--no-legend'])).stdout);
  const verify = await host.journal('tide-verify.service');
  assert.ok(verify.some((line) => line.event === 'commit' && /committed 1\.7\.0/.test(line.message)), messages(verify));
  assert.is(host.marker(), null);
  assert.equal((await containers()).map((c) => [c.name, c.image, c.state]), [
    ['demo-extra', 'localhost/demo-extra:1.7.0', 'running'],
    ['demo-web', 'localhost/demo-web:1.7.0', 'running'],
  ]);
  assert.equal(await serving(), { app: 'demo 1.7.0', web: 'web 1.7.0', extra: 'extra 1.7.0' });
  const status = await statusContainers();
  assert.equal([status.current, status.lastResult, status.pending], ['1.7.0', 'committed', null]);
});

test.run();
