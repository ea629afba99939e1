// The demo's container, when the machine has podman: a busybox httpd image per
// release (podman import, nothing is pulled), in a podman store of its own.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../lib/free-port.js';
import { httpText } from '../lib/http-text.js';
import { listContainers } from '../lib/podman-images.js';
import type { ImageRecipe } from './release-inputs.js';
import { isolatedPodman } from '../lib/podman.js';

export interface DemoContainers {
  argv: string[];
  env: Record<string, string>;
  /** The [podman], [[container]], probe and [[stage]] lines of the host config. */
  config: string;
  /** Import the image a release's recipe describes; returns its ref for `tide release build --image`. */
  image(recipe: ImageRecipe): Promise<string>;
  serving(): Promise<string>;
  /** `podman ps -a` as "name image state" lines. */
  listing(): Promise<string>;
  stop(): Promise<void>;
}

export async function demoContainers(root: string): Promise<DemoContainers | null> {
  if (!existsSync('/usr/bin/podman') || !existsSync('/bin/busybox')) return null;
  const podman = isolatedPodman(join(root, 'podman'));
  const port = await freePort();
  return {
    argv: podman.argv,
    env: podman.env,
    config: `
[podman]
argv = ${JSON.stringify(podman.argv)}

[[container]]
name = "demo-web"
image = "localhost/demo-web"
args = ["--network", "host", "--env", "PORT=${port}", "--stop-timeout", "2"]

[[health.probe]]
id = "demo-web-running"
type = "container"
name = "demo-web"

[[health.probe]]
id = "demo-web-http"
type = "http"
url = "http://127.0.0.1:${port}/"
body = "demo-web"

# Two stages: the container first; the service (restart) and the front end's
# probes only once demo-web answers.
[[stage]]
name = "backend"
containers = ["demo-web"]
probes = ["demo-web-running", "demo-web-http"]
timeout = "20s"

[[stage]]
name = "app"
`,
    async image(recipe) {
      await podman.importBusyboxImage(recipe.ref, [`CMD ${JSON.stringify(recipe.cmd)}`], recipe.rootfs);
      return recipe.ref;
    },
    serving: () => httpText(port),
    async listing() {
      return (await listContainers(podman)).map((c) => `${c.name} ${c.image} ${c.state}`).join('\n');
    },
    stop: () => podman.removeAllContainers(),
  };
}
