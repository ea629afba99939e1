// The release engineer's side of the drills: a release tree next to the host, the
// real `tide release …` commands run as processes, published into the host's mirror.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { writeAppTree } from '../../scripts/lib/service-app.js';
import { tideBin, type HostFixture, type TideRun } from '../helpers/host-fixture.js';
import { makeKey, type TestKey } from '../helpers/keys.js';

export interface KeyFiles {
  key: TestKey;
  /** The armored private key (what --key takes). */
  privatePath: string;
  /** The armored public key (what --add, --current and a host's config take). */
  publicPath: string;
}

export interface ReleaseSide {
  tree: string;
  /** Run `tide release <args>` in the host's directory. */
  release(...args: string[]): Promise<TideRun>;
  /** The same, asserting exit 0. */
  ok(...args: string[]): Promise<TideRun>;
  /** Build and sign release `version` (a healthy service) with `signers`. */
  build(version: string, signers: KeyFiles[]): Promise<void>;
  /** `release publish` the tree into the host's mirror. */
  publish(): Promise<void>;
  keyFiles(key: TestKey, name: string): KeyFiles;
  newKey(name: string): Promise<KeyFiles>;
}

const keyArgs = (keys: KeyFiles[]): string[] => keys.flatMap((k) => ['--key', k.privatePath]);
export { keyArgs };

export function releaseSide(host: HostFixture): ReleaseSide {
  const tree = join(host.dir, 'release-tree');
  const keysDir = join(host.dir, 'publisher-keys');
  mkdirSync(keysDir, { recursive: true });
  const release = (...args: string[]): Promise<TideRun> => new Promise((resolve) => {
    const child = spawn(process.execPath, [tideBin, 'release', ...args], { cwd: host.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  const ok = async (...args: string[]): Promise<TideRun> => {
    const run = await release(...args);
    assert.is(run.code, 0, `tide release ${args.join(' ')}: ${run.stdout}${run.stderr}`);
    return run;
  };
  const keyFiles = (key: TestKey, name: string): KeyFiles => {
    const privatePath = join(keysDir, `${name}.key.asc`);
    const publicPath = join(keysDir, `${name}.pub.asc`);
    writeFileSync(privatePath, key.privateArmored, { mode: 0o600 });
    writeFileSync(publicPath, key.publicArmored);
    return { key, privatePath, publicPath };
  };
  return {
    tree, release, ok, keyFiles,
    newKey: async (name) => keyFiles(await makeKey(name), name),
    async build(version, signers) {
      const source = join(host.dir, 'sources', version);
      writeAppTree(source, version, 'good');
      await ok('build', '--tree', tree, '--app', 'demo', '--version', version, '--from', source, ...keyArgs(signers));
    },
    async publish() {
      await ok('publish', '--tree', tree, host.mirrorDir);
    },
  };
}
