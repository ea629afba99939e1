// An end-to-end host in a temp dir, composed of three parts: signed releases published
// into a mirror tree (mirror-publisher.ts), that tree served as file://, by a Node HTTP
// server or by nginx on 127.0.0.1 (serve-mirror.ts), and a host running the real `tide`
// binary against it, with a real service behind a real nginx (tide-host.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeKey, type TestKey } from './keys.js';
import type { MirrorHttpServer } from './mirror-http.js';
import { mirrorPublisher, type MirrorPublisher } from './mirror-publisher.js';
import { serveMirror, type MirrorServing } from './serve-mirror.js';
import { startTideHost, type HostConfigOptions, type TideHost } from './tide-host.js';
import { tempDir } from './tmp.js';

// The tests and the benchmarks import these from here.
export { tideBin, type TideRun } from './tide-host.js';
export type { PublishedImage, PublishOptions, RevokeOptions } from './mirror-publisher.js';

export interface HostFixture extends Omit<TideHost, 'stop'>, MirrorPublisher {
  dir: string;
  mirrorDir: string;
  /** The first trusted key (every publish signs with it unless told otherwise). */
  key: TestKey;
  /** Every trusted key, in the config's order. */
  keys: TestKey[];
  /** The URL of the fixture's own mirror tree as the config names it (file://, http:// or nginx). */
  mirrorUrl: string;
  /** With `serve: 'http'`: the server, to inject faults per path and see requests. */
  mirrorServer?: MirrorHttpServer;
  cleanup(): Promise<void>;
}

export interface HostFixtureOptions extends HostConfigOptions {
  /** How the mirror tree is served: file:// (default), a Node static server, or nginx, both on 127.0.0.1. */
  serve?: MirrorServing;
  /** The config's mirror list, given the fixture's own mirror URL (default: just that one). */
  mirrors?: (own: string) => string[];
  /** How many trusted keys the config lists (default 1). */
  trustedKeys?: number;
}

/** Keys "release", "release2", …; each public key written to `dir` as the file the config names. */
async function makeTrustedKeys(dir: string, count: number): Promise<{ keys: TestKey[]; keyFiles: string[] }> {
  const keys: TestKey[] = [];
  const keyFiles: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = i === 0 ? 'release' : `release${i + 1}`;
    keys.push(await makeKey(name));
    keyFiles.push(`${name}.pub.asc`);
    writeFileSync(join(dir, `${name}.pub.asc`), keys[i]!.publicArmored);
  }
  return { keys, keyFiles };
}

export async function createHostFixture(opts: HostFixtureOptions = {}): Promise<HostFixture> {
  const tmp = tempDir('tide-host-');
  const dir = tmp.path;
  const mirrorDir = join(dir, 'mirror');
  mkdirSync(mirrorDir, { recursive: true });
  const { keys, keyFiles } = await makeTrustedKeys(dir, opts.trustedKeys ?? 1);
  const key = keys[0]!;
  const mirror = await serveMirror(mirrorDir, opts.serve);
  const mirrorUrls = opts.mirrors ? opts.mirrors(mirror.url) : [mirror.url];
  const { stop: stopHost, ...host } = await startTideHost(dir, { ...opts, mirrorUrls, keyFiles });
  const publisher = mirrorPublisher({ mirrorDir, buildDir: join(dir, 'build'), key });

  async function cleanup(): Promise<void> {
    await stopHost();
    await mirror.stop();
    tmp.cleanup();
  }

  return { ...host, ...publisher, dir, mirrorDir, key, keys, mirrorUrl: mirror.url, mirrorServer: mirror.server, cleanup };
}
