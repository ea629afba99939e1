// A host for the end-to-end container tests: the host fixture (service binary, web UI
// behind nginx) plus real podman in an isolated store running demo-web and demo-api,
// with container and http probes, and images shipped as oci-archive artifacts.
import * as assert from 'uvu/assert';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createHostFixture, type HostFixture, type PublishedImage } from '../helpers/host-fixture.js';
import { freePort } from '../../scripts/lib/free-port.js';
import { httpText } from '../../scripts/lib/http-text.js';
import { importWebImage } from '../../scripts/lib/podman-images.js';
import { isolatedPodman, type IsolatedPodman } from '../../scripts/lib/podman.js';
import { tempDir } from '../helpers/tmp.js';
import { importExitingImage, saveArchive } from './podman-images.js';

export interface ContainerHost {
  host: HostFixture;
  podman: IsolatedPodman;
  webPort: number;
  apiPort: number;
  tide(args: string[], env?: Record<string, string>): ReturnType<HostFixture['tide']>;
  /** Build demo-web and demo-api images for `version` in a build store and save them as artifacts. */
  images(version: string, opts?: { webExits?: boolean; webRef?: string }): Promise<PublishedImage[]>;
  /** Everything the host serves: service, UI, web container, api container. */
  serving(): Promise<string[]>;
  /** SPEC containers.md#recovering-tide-recover-and-tide-verify-at-boot: podman's storage is lost (a fresh --root and --runroot). */
  loseStorage(): Promise<void>;
  cleanup(): Promise<void>;
}

export async function createContainerHost(): Promise<ContainerHost> {
  const tmp = tempDir('tide-podman-');
  const podman = isolatedPodman(join(tmp.path, 'host'));
  const build = isolatedPodman(join(tmp.path, 'build'));
  const [webPort, apiPort] = [await freePort(), await freePort()];
  const container = (name: string, port: number) => `
[[container]]
name = "${name}"
image = "localhost/${name}"
args = ["--network", "host", "--env", "PORT=${port}", "--stop-timeout", "2"]
`;
  const host = await createHostFixture({
    webUi: true,
    health: '[health]\ntimeout = "20s"\ninterval = "200ms"\nstable = "1s"\n',
    extraConfig: `
[[health.probe]]
type = "container"
name = "demo-web"

[[health.probe]]
type = "container"
name = "demo-api"

[[health.probe]]
type = "http"
url = "http://127.0.0.1:${webPort}/"

[podman]
argv = ${JSON.stringify(podman.argv)}
${container('demo-web', webPort)}${container('demo-api', apiPort)}`,
  });
  const archives = join(tmp.path, 'archives');
  mkdirSync(archives, { recursive: true });
  return {
    host, podman, webPort, apiPort,
    tide: (args, env = {}) => host.tide(args, { ...podman.env, ...env }),
    async images(version, opts = {}) {
      const webRef = opts.webRef ?? `localhost/demo-web:${version}`;
      if (opts.webExits) await importExitingImage(build, webRef, `web ${version}`);
      else await importWebImage(build, webRef, `web ${version}`);
      await importWebImage(build, `localhost/demo-api:${version}`, `api ${version}`);
      return [
        { ref: `localhost/demo-web:${version}`, archive: await saveArchive(build, webRef, archives) },
        { ref: `localhost/demo-api:${version}`, archive: await saveArchive(build, `localhost/demo-api:${version}`, archives) },
      ];
    },
    async serving() {
      return [await host.serving(), await host.servingUi(), await httpText(webPort, 5), await httpText(apiPort, 5)];
    },
    async loseStorage() {
      await podman.removeAllContainers();
      for (const dir of ['root', 'runroot']) {
        rmSync(join(tmp.path, 'host', 'podman', dir), { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
        mkdirSync(join(tmp.path, 'host', 'podman', dir), { recursive: true });
      }
    },
    async cleanup() {
      await podman.removeAllContainers();
      await host.cleanup();
      tmp.cleanup();
    },
  };
}

export const servingVersion = (v: string) => [`demo ${v}`, `<h1>demo ${v}</h1>`, `web ${v}`, `api ${v}`];

/** 1.0.0 published with images and installed. */
export async function installed(): Promise<ContainerHost> {
  const c = await createContainerHost();
  try {
    await c.host.publish('1.0.0', 'good', { images: await c.images('1.0.0') });
    const first = await c.tide(['update']);
    assert.is(first.code, 0, first.stdout + first.stderr);
    return c;
  } catch (err) {
    await c.cleanup();
    throw err;
  }
}
