// scripts/hostlab/lazyfs.py, the power-loss layer: a FUSE mount whose file data reaches
// its backing dir only when fsynced. SIGKILL to the daemon is the power cut
// (docs/host-lab.md#power-loss-a-disk-that-forgets-what-was-not-fsynced).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

const lazyfs = new URL('../../../scripts/hostlab/lazyfs.py', import.meta.url).pathname;

const mounted = (mountpoint: string): boolean => spawnSync('mountpoint', ['-q', mountpoint]).status === 0;

/** Mount `backing` at `mountpoint` through lazyfs (foreground daemon); resolves once it is mounted. */
export async function mountLazyfs(backing: string, mountpoint: string): Promise<ChildProcess> {
  mkdirSync(mountpoint, { recursive: true });
  mkdirSync(backing, { recursive: true });
  let said = '';
  const daemon = spawn('/usr/bin/python3', [lazyfs, backing, mountpoint], { stdio: ['ignore', 'ignore', 'pipe'] });
  daemon.stderr!.on('data', (d) => (said += d));
  for (let i = 0; i < 100 && !mounted(mountpoint); i++) {
    if (daemon.exitCode !== null) throw new Error(`lazyfs.py exited ${daemon.exitCode}: ${said.trim()}`);
    await delay(50);
  }
  if (!mounted(mountpoint)) {
    daemon.kill('SIGKILL');
    throw new Error(`lazyfs did not mount ${mountpoint}: ${said.trim()}`);
  }
  return daemon;
}
