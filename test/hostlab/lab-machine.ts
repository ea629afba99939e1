// One host-lab machine: the cached Debian 12 root under an overlay of its own,
// booted with systemd as its PID 1 by systemd-nspawn (scripts/hostlab/boot.sh),
// commands run inside with nsenter, a power cut that freezes every process of the
// machine at once and then kills its init. docs/host-lab.md is the recipe.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { mountLazyfs } from '../helpers/lazyfs.js';

export const checkoutDir = new URL('../../..', import.meta.url).pathname.replace(/\/$/, '');
const bootScript = join(checkoutDir, 'scripts', 'hostlab', 'boot.sh');

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface LabMachine {
  /** The machine's / as seen from the host (the overlay's merged dir). */
  root: string;
  /** The pid, on the host, of the machine's systemd. */
  initPid(): number;
  boot(): Promise<void>;
  /** argv inside the machine (all of its namespaces), with a plain root environment. */
  run(argv: string[], opts?: { timeoutMs?: number }): Promise<Ran>;
  sh(script: string, opts?: { timeoutMs?: number }): Promise<Ran>;
  /** SIGSTOP every process of the machine's pid namespace, then SIGKILL its init. */
  powerCut(): Promise<void>;
  /** `systemctl poweroff`, waited for. */
  poweroff(): Promise<void>;
  /** Until `systemctl is-system-running` says running or degraded (so boot's jobs, tide-verify included, are done). */
  waitBooted(timeoutMs?: number): Promise<string>;
  destroy(): Promise<void>;
}

/** Build (or find) the cached root; the path is only a check that it exists. */
export function labRoot(): string {
  const built = spawnSync('sh', [join(checkoutDir, 'scripts', 'hostlab', 'build-root.sh')], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`build-root.sh exited ${built.status}: ${built.stderr.trim()}`);
  return built.stdout.trim();
}

const namespaceOf = (pid: number): string | null => {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return null;
  }
};

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Every host pid in the pid namespace of `pid` (the machine's processes). */
function pidsInNamespaceOf(pid: number): number[] {
  const ns = namespaceOf(pid);
  if (!ns) return [];
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number).filter((p) => namespaceOf(p) === ns);
}

const exited = (child: ChildProcess) => new Promise<void>((resolve) => {
  if (child.exitCode !== null || child.signalCode !== null) resolve();
  else child.once('exit', () => resolve());
});

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * Machines a killed test left behind (SIGKILL of systemd-nspawn leaves its machine
 * running, orphaned): each machine dir records the test process that owns it; when
 * that process is gone, the machine's processes are killed and its overlay unmounted.
 * Machines of test files running now are never touched.
 */
function reapOrphans(): void {
  for (const name of readdirSync('/tmp').filter((n) => n.startsWith('tide-lab-'))) {
    const dir = join('/tmp', name);
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, 'owner'), 'utf8'));
    } catch {
      continue;
    }
    if (!owner || isAlive(owner)) continue;
    let init: number | undefined;
    try {
      init = Number(readFileSync(join(dir, 'init'), 'utf8'));
    } catch { /* never booted */ }
    if (init && readComm(init) === 'systemd' && readFileSync(`/proc/${init}/environ`, 'utf8').includes('container=systemd-nspawn')) {
      try { process.kill(init, 'SIGKILL'); } catch { /* gone */ }
    }
    for (let i = 0; i < 20 && spawnSync('mountpoint', ['-q', join(dir, 'root')]).status === 0; i++) {
      spawnSync('umount', ['-R', join(dir, 'root')]);
      spawnSync('sleep', ['0.1']);
    }
    if (spawnSync('mountpoint', ['-q', join(dir, 'root')]).status !== 0) rmSync(dir, { recursive: true, force: true });
    removeCgroupsOf(dir);
  }
}

/** The cgroups boot.sh made for the machine of `dir` (empty once it is down), removed. */
function removeCgroupsOf(dir: string): void {
  for (const hierarchy of ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified']) {
    const mine = join(hierarchy, 'tide-lab', basename(dir));
    if (existsSync(mine)) spawnSync('find', [mine, '-depth', '-type', 'd', '-exec', 'rmdir', '{}', '+']);
  }
}

function readComm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

export interface LabMachineOptions {
  name: string;
  binds?: string[];
  /**
   * Directories of the machine put on the power-loss layer (scripts/hostlab/lazyfs.py):
   * a write not fsynced is lost at a power cut. Each is mounted from the host before
   * every boot, over a backing dir of the machine's own.
   */
  lazyfs?: string[];
}

export function createLabMachine(opts: LabMachineOptions): LabMachine {
  labRoot();
  reapOrphans();
  const dir = mkdtempSync(join('/tmp', `tide-lab-${opts.name}-`));
  writeFileSync(join(dir, 'owner'), String(process.pid));
  const root = join(dir, 'root');
  let nspawn: ChildProcess | undefined;
  let init: number | undefined;
  let console = '';

  function initPid(): number {
    if (init === undefined) throw new Error('the machine is not booted');
    return init;
  }

  function mountOverlay(): void {
    // boot.sh mounts it too; mounted here first so files can be written before the first boot.
    const mounted = spawnSync('sh', ['-c', `lower=$(sh "$1"); mkdir -p "$2/upper" "$2/work" "$2/root"; mountpoint -q "$2/root" || mount -t overlay overlay -o "lowerdir=$lower,upperdir=$2/upper,workdir=$2/work" "$2/root"`, 'sh', join(checkoutDir, 'scripts', 'hostlab', 'build-root.sh'), dir], { encoding: 'utf8' });
    if (mounted.status !== 0) throw new Error(`cannot mount the machine's overlay: ${mounted.stderr.trim()}`);
  }
  mountOverlay();

  const lazyMounts = (opts.lazyfs ?? []).map((path, i) => ({ mountpoint: join(root, path), backing: join(dir, `lazyfs-${i}`) }));
  let lazyDaemons: ChildProcess[] = [];

  async function mountLazy(): Promise<void> {
    for (const { mountpoint, backing } of lazyMounts) lazyDaemons.push(await mountLazyfs(backing, mountpoint));
  }

  /** After the power is gone: the daemons are dead, their mounts answer ENOTCONN; detach them. */
  async function unmountLazy(clean: boolean): Promise<void> {
    for (const { mountpoint } of lazyMounts) {
      // A clean unmount lets lazyfs write back what it holds (a poweroff); a lazy one after a kill, nothing.
      spawnSync('umount', clean ? [mountpoint] : ['-l', mountpoint]);
    }
    await Promise.all(lazyDaemons.map((daemon) => exited(daemon)));
    lazyDaemons = [];
  }

  async function boot(): Promise<void> {
    if (nspawn) throw new Error('already booted');
    await mountLazy();
    console = '';
    const binds = (opts.binds ?? []).map((bind) => `--bind-ro=${bind}`);
    const child = spawn('sh', [bootScript, dir, `--machine=tide-lab-${opts.name}`, ...binds], { stdio: ['ignore', 'pipe', 'pipe'] });
    nspawn = child;
    child.stdout!.on('data', (d) => (console += d));
    child.stderr!.on('data', (d) => (console += d));
    child.once('exit', () => {
      if (nspawn === child) { nspawn = undefined; init = undefined; }
    });
    // boot.sh execs systemd-nspawn, whose child is the machine's systemd.
    for (let i = 0; i < 200 && init === undefined; i++) {
      if (child.exitCode !== null) throw new Error(`systemd-nspawn exited ${child.exitCode}: ${console.trim()}`);
      const systemd = childrenOf(child.pid!).find((pid) => readComm(pid) === 'systemd');
      if (systemd !== undefined) init = systemd;
      else await delay(50);
    }
    if (init === undefined) throw new Error(`the machine's systemd did not start: ${console.trim()}`);
    writeFileSync(join(dir, 'init'), String(init));
    await waitBooted();
  }

  function run(argv: string[], o: { timeoutMs?: number } = {}): Promise<Ran> {
    const pid = initPid();
    return new Promise((resolve) => {
      const child = spawn('nsenter', ['-t', String(pid), '-a', '--', ...argv], {
        env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', SYSTEMD_PAGER: '', SYSTEMD_COLORS: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '', stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 120_000);
      child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    });
  }

  async function waitBooted(timeoutMs = 90_000): Promise<string> {
    const until = Date.now() + timeoutMs;
    let state = '';
    while (Date.now() < until) {
      state = (await run(['systemctl', 'is-system-running'], { timeoutMs: 10_000 })).stdout.trim();
      if (state === 'running' || state === 'degraded') return state;
      await delay(200);
    }
    throw new Error(`the machine did not finish booting in ${timeoutMs} ms (is-system-running: ${state || 'no answer'})`);
  }

  async function powerCut(): Promise<void> {
    const child = nspawn;
    const pid = initPid();
    if (!child) return;
    // Everything at once, as when the power goes: nothing runs between the first and last stop.
    for (let round = 0; round < 3; round++) {
      for (const p of pidsInNamespaceOf(pid)) try { process.kill(p, 'SIGSTOP'); } catch { /* gone */ }
    }
    // The disk's cache goes with the power: what lazyfs held and nobody fsynced is lost.
    for (const daemon of lazyDaemons) daemon.kill('SIGKILL');
    process.kill(pid, 'SIGKILL');
    await exited(child);
    await unmountLazy(false);
  }

  async function poweroff(): Promise<void> {
    const child = nspawn;
    if (!child) return;
    await run(['systemctl', 'poweroff']);
    const gone = await Promise.race([exited(child).then(() => true), delay(120_000, false, { ref: false })]);
    if (!gone) throw new Error('the machine did not power off within 120 s');
    await unmountLazy(true);
  }

  async function destroy(): Promise<void> {
    if (nspawn && init !== undefined) await powerCut().catch(() => undefined);
    for (const daemon of lazyDaemons) daemon.kill('SIGKILL');
    await unmountLazy(false);
    for (let i = 0; i < 20 && spawnSync('mountpoint', ['-q', root]).status === 0; i++) {
      spawnSync('umount', ['-R', root]);
      if (spawnSync('mountpoint', ['-q', root]).status === 0) await delay(100);
    }
    if (existsSync(dir) && spawnSync('mountpoint', ['-q', root]).status !== 0) rmSync(dir, { recursive: true, force: true });
    removeCgroupsOf(dir);
  }

  return { root, initPid, boot, run, sh: (script, o) => run(['sh', '-c', script], o), powerCut, poweroff, waitBooted, destroy };
}
