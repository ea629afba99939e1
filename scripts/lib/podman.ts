// Real podman with a store of its own under a test's (or the demo's) temp dir: it
// never touches the host's images or containers. Nothing can be pulled here, so
// images are made with `podman import` from a tiny rootfs holding busybox-static.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import { runProcess, type RunResult } from '../../src/system/process-runner.js';

export interface IsolatedPodman {
  /** podman plus the flags that point every store and state dir into the temp dir. */
  argv: string[];
  /** CONTAINERS_CONF: runc, cgroupfs, file events, ulimits that work inside a container. */
  env: Record<string, string>;
  /** Run `argv + args` with `env`; resolves with the result whatever the exit code. */
  podman(args: string[]): Promise<RunResult>;
  /**
   * `podman import` a rootfs with /bin/busybox as `ref` (e.g. localhost/tiny:1); `changes` go to
   * --change; the tree `files` (if given) is copied over the rootfs first.
   */
  importBusyboxImage(ref: string, changes?: string[], files?: string): Promise<void>;
  /** Remove every container of this store (call before deleting the temp dir). */
  removeAllContainers(): Promise<void>;
}

// busybox-static: one self-contained binary, enough for sh, httpd, sleep.
const busybox = '/bin/busybox';

export function isolatedPodman(tmp: string): IsolatedPodman {
  const base = join(tmp, 'podman');
  for (const dir of ['root', 'runroot', 'tmp', 'networks']) mkdirSync(join(base, dir), { recursive: true });
  const conf = join(base, 'containers.conf');
  writeFileSync(
    conf,
    [
      '[containers]',
      'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]',
      '[engine]',
      'runtime = "runc"',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      '',
    ].join('\n'),
  );
  const argv = [
    'podman',
    '--root', join(base, 'root'),
    '--runroot', join(base, 'runroot'),
    '--tmpdir', join(base, 'tmp'),
    '--network-config-dir', join(base, 'networks'),
    // vfs: plain directories, so deleting the temp dir is enough (no overlay mounts).
    '--storage-driver', 'vfs',
  ];
  const env = { CONTAINERS_CONF: conf };
  const podman = (args: string[]) => runProcess([...argv, ...args], { env, timeoutMs: 120_000 });
  const mustSucceed = async (args: string[]) => {
    const result = await podman(args);
    if (result.code !== 0) throw new Error(`podman ${args.join(' ')} exited ${result.code}: ${result.stderr.trim()}`);
  };
  return {
    argv,
    env,
    podman,
    async importBusyboxImage(ref, changes = [], files) {
      const rootfs = join(base, `rootfs-${Date.now()}`);
      mkdirSync(join(rootfs, 'bin'), { recursive: true });
      if (files) cpSync(files, rootfs, { recursive: true });
      copyFileSync(busybox, join(rootfs, 'bin', 'busybox'));
      chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
      const tarball = `${rootfs}.tar`;
      execFileSync('tar', ['-C', rootfs, '-cf', tarball, '.']);
      await mustSucceed(['import', ...changes.flatMap((c) => ['--change', c]), tarball, ref]);
    },
    async removeAllContainers() {
      await podman(['rm', '--all', '--force', '--time', '0']);
      // conmon runs `podman container cleanup` after a container dies, on its own clock;
      // until those are gone they may re-create files in the store being deleted.
      await waitForProcessesUsing(base);
    },
  };
}

/** Processes (other than this one) whose command line names `path`. */
function processesUsing(path: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(path)) pids.push(Number(entry));
    } catch { /* exited meanwhile */ }
  }
  return pids;
}

/** Bounded: at most ~10 s, then the caller goes on (and a delete may still race). */
async function waitForProcessesUsing(path: string): Promise<void> {
  for (let i = 0; i < 100 && processesUsing(path).length > 0; i++) await delay(100);
}
