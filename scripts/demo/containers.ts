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
  /** The [podman], [[container]] and probe lines of the host config. */
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
type = "container"
name = "demo-web"

[[health.probe]]
type = "http"
url = "http://127.0.0.1:${port}/"
body = "demo-web"
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
