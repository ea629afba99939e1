// A host for the stage tests: three stages of busybox containers in real podman
// (isolated store), each stage with its own probe: "foundation" (mcns, a tcp probe,
// optionally answering only after a delay), "middle" (proxy, an http probe) and
// "app" (web, an http probe, plus the host fixture's service behind nginx).
import * as assert from 'uvu/assert';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createHostFixture, type HostFixture, type PublishedImage } from '../helpers/host-fixture.js';
import { freePort } from '../../scripts/lib/free-port.js';
import { isolatedPodman, type IsolatedPodman } from '../../scripts/lib/podman.js';
import { tempDir } from '../helpers/tmp.js';
import { runProcess } from '../../src/system/process-runner.js';
import { importExitingImage, saveArchive } from './podman-images.js';

export const stageNames = ['mcns', 'proxy', 'web'] as const;
export type StagedName = (typeof stageNames)[number] | 'extra';

export interface ImageOptions {
  /** mcns answers only this many seconds after it started. */
  mcnsDelaySeconds?: number;
  /** This container exits at start. */
  exits?: StagedName;
  /** Also an image for the container "extra" (configured, but only later releases have it). */
  extra?: boolean;
}

export interface StagedHost {
  host: HostFixture;
  podman: IsolatedPodman;
  ports: Record<StagedName, number>;
  tide(args: string[], env?: Record<string, string>): ReturnType<HostFixture['tide']>;
  images(version: string, o?: ImageOptions): Promise<PublishedImage[]>;
  /** `podman inspect`: name → { image, running, startedAt (ms), id }. */
  inspect(name: string): Promise<{ image: string; running: boolean; startedAt: number; id: string } | null>;
  cleanup(): Promise<void>;
}

/** Serves `text` on 127.0.0.1:$PORT after `delay` seconds; a TERM trap, as PID 1 ignores signals otherwise. */
function serveScript(text: string, delay: number): string {
  const serve = `mkdir -p /www && echo '${text}' > /www/index.html && exec /bin/busybox httpd -f -p 127.0.0.1:$PORT -h /www`;
  return `(${delay > 0 ? `sleep ${delay}; ` : ''}${serve}) & trap 'kill $!; exit 0' TERM; wait`;
}

export async function createStagedHost(o: { extraConfig?: string } = {}): Promise<StagedHost> {
  const tmp = tempDir('tide-stages-');
  const podman = isolatedPodman(join(tmp.path, 'host'));
  const build = isolatedPodman(join(tmp.path, 'build'));
  const ports = { mcns: await freePort(), proxy: await freePort(), web: await freePort(), extra: await freePort() };
  const container = (name: StagedName) => `
[[container]]
name = "${name}"
image = "localhost/${name}"
args = ["--network", "host", "--env", "PORT=${ports[name]}", "--stop-timeout", "1"]
`;
  const host = await createHostFixture({
    health: '[health]\ntimeout = "20s"\ninterval = "200ms"\nstable = "1s"\n',
    extraConfig: `
[[health.probe]]
id = "dns"
type = "tcp"
port = ${ports.mcns}

[[health.probe]]
id = "proxy"
type = "http"
url = "http://127.0.0.1:${ports.proxy}/"

[[health.probe]]
id = "web"
type = "http"
url = "http://127.0.0.1:${ports.web}/"

[[health.probe]]
type = "container"
name = "extra"

[podman]
argv = ${JSON.stringify(podman.argv)}

[[stage]]
name = "foundation"
containers = ["mcns"]
probes = ["dns"]
timeout = "15s"

[[stage]]
name = "middle"
containers = ["proxy"]
probes = ["proxy"]
timeout = "5s"

[[stage]]
name = "app"
containers = ["web", "extra"]
probes = ["web"]
${o.extraConfig ?? ''}
${container('mcns')}${container('proxy')}${container('web')}${container('extra')}`,
  });
  const archives = join(tmp.path, 'archives');
  mkdirSync(archives, { recursive: true });
  return {
    host, podman, ports,
    tide: (args, env = {}) => host.tide(args, { ...podman.env, ...env }),
    async images(version, io = {}) {
      const names: StagedName[] = [...stageNames, ...(io.extra ? ['extra' as const] : [])];
      const published: PublishedImage[] = [];
      for (const name of names) {
        const ref = `localhost/${name}:${version}`;
        if (io.exits === name) await importExitingImage(build, ref, `${name} ${version}`);
        else await build.importBusyboxImage(ref, [`CMD ["/bin/busybox", "sh", "-c", ${JSON.stringify(serveScript(`${name} ${version}`, name === 'mcns' ? io.mcnsDelaySeconds ?? 0 : 0))}]`]);
        published.push({ ref, archive: await saveArchive(build, ref, archives) });
      }
      return published;
    },
    async inspect(name) {
      const run = await podman.podman(['container', 'inspect', '--format', 'json', name]);
      if (run.code !== 0) return null;
      const [c] = JSON.parse(run.stdout) as { Id: string; ImageName: string; State: { Running: boolean; StartedAt: string } }[];
      return { image: c!.ImageName, running: c!.State.Running, startedAt: Date.parse(c!.State.StartedAt), id: c!.Id };
    },
    async cleanup() {
      // After a podman state loss test: containers only the storage (and the runtime) still knows.
      const lost = await podman.podman(['ps', '--all', '--external', '--format', 'json']);
      for (const c of JSON.parse(lost.stdout || '[]') as { Id: string; State: string }[]) {
        if (c.State !== 'storage') continue;
        await runProcess(['runc', 'delete', '--force', c.Id], { timeoutMs: 30_000 });
        const mounts = await runProcess(['findmnt', '--raw', '--noheadings', '--output', 'TARGET'], { timeoutMs: 30_000 });
        for (const target of mounts.stdout.split('\n').filter((t) => t.includes(`/${c.Id}/userdata/`))) await runProcess(['umount', target], { timeoutMs: 30_000 });
        await podman.podman(['rm', '--force', c.Id]);
      }
      await podman.removeAllContainers();
      await build.removeAllContainers();
      await host.cleanup();
      tmp.cleanup();
    },
  };
}

/** Each container started after the one before it, at least `gapMs` after (ms from podman's StartedAt). */
export async function assertStartOrder(h: StagedHost, names: readonly StagedName[], gapMs: number[] = []): Promise<void> {
  const seen = [];
  for (const name of names) {
    const c = await h.inspect(name);
    assert.ok(c?.running, `${name} runs`);
    seen.push(c!.startedAt);
  }
  for (let i = 1; i < seen.length; i++) {
    const gap = seen[i]! - seen[i - 1]!;
    assert.ok(gap >= (gapMs[i - 1] ?? 1), `${names[i]} started ${gap} ms after ${names[i - 1]}; expected at least ${gapMs[i - 1] ?? 1} ms (podman inspect StartedAt)`);
  }
}
