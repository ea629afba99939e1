// podman through its CLI, run by the process runner.
// SPEC config.md#podman: every call starts with the configured argv, so an
// operator (and the tests) can add --root/--runroot. Each call is bounded in
// time; a failing call throws one line.
import { TideError } from '../errors.js';
import { limits } from '../limits.js';
import { describeExit, type ProcessRunner, type RunResult } from './process-runner.js';

/** What tide needs to know about one container, from `podman container inspect`. */
export interface ContainerState {
  id: string;
  name: string;
  /** The ref the container was created from, e.g. localhost/demo-web:1.2.0. */
  imageRef: string;
  imageId: string;
  /** created, running, paused, exited, stopped, … */
  status: string;
  running: boolean;
  exitCode: number;
  startedAt: string;
  /** Restarts by podman's restart policy since the container was created. */
  restartCount: number;
  /** "" or "no" when podman never restarts it: an exited container stays exited. */
  restartPolicy: string;
  /** The container (or its image) defines a healthcheck. */
  hasHealthcheck: boolean;
  labels: Record<string, string>;
}

export interface Podman {
  /** null when there is no such container. */
  inspectContainer(name: string): Promise<ContainerState | null>;
  /** The image id a ref names locally, or null when no local image carries it. */
  imageId(ref: string): Promise<string | null>;
  /** `podman load -i FILE`; returns the refs podman says it loaded. */
  load(file: string): Promise<string[]>;
  /** `podman run -d ARGS…`: create and start. */
  run(args: string[]): Promise<void>;
  start(name: string): Promise<void>;
  stop(name: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** `podman rm --force`; a container that is not there is fine. */
  remove(name: string): Promise<void>;
  /** `podman rmi REF` (never forced): false when podman refused, e.g. a container uses it. */
  removeImage(ref: string): Promise<boolean>;
  /** `podman healthcheck run NAME`: healthy or not, and what it said. */
  healthcheck(name: string, timeoutMs: number): Promise<{ healthy: boolean; detail: string }>;
  /** The last line the container printed, for reasons; "" when there is none. */
  lastLogLine(name: string): Promise<string>;
  /** `podman ps -a --external`: containers its storage holds that podman's database does not know. */
  storageOnlyContainers(): Promise<{ id: string; name: string }[]>;
  /**
   * SPEC containers.md#podman-state-loss: a container podman no longer knows may still run
   * under its OCI runtime; `<runtime> delete --force ID` (the runtime `podman info` names) ends it.
   */
  deleteRuntimeContainer(id: string): Promise<void>;
  /** `podman system renumber`: reassign the lock numbers after its state was rebuilt. */
  renumber(): Promise<void>;
}

export interface PodmanOptions {
  /** SPEC config.md#podman: argv, e.g. ["podman", "--root", "/x", "--runroot", "/y"]. */
  argv: readonly string[];
  runner: ProcessRunner;
  /** Per call; default limits.podmanCommandTimeoutMs. */
  timeoutMs?: number;
}

const noSuchThing = /no such (container|object|image)|image not known/i;

export function createPodman(options: PodmanOptions): Podman {
  const timeoutMs = options.timeoutMs ?? limits.podmanCommandTimeoutMs;
  const call = (args: string[], callTimeoutMs = timeoutMs): Promise<RunResult> =>
    options.runner.run([...options.argv, ...args], { timeoutMs: callTimeoutMs });
  const must = async (args: string[], callTimeoutMs = timeoutMs): Promise<RunResult> => {
    const result = await call(args, callTimeoutMs);
    if (result.code === 0 && !result.timedOut) return result;
    throw podmanFailure(options.argv, args, result, callTimeoutMs);
  };
  return {
    async inspectContainer(name) {
      const result = await call(['container', 'inspect', '--format', 'json', name]);
      if (result.code !== 0 && noSuchThing.test(result.stderr)) return null;
      if (result.code !== 0 || result.timedOut) throw podmanFailure(options.argv, ['container', 'inspect', name], result, timeoutMs);
      return parseContainerState(result.stdout, name);
    },
    async imageId(ref) {
      const result = await call(['image', 'inspect', '--format', '{{.Id}}', ref]);
      if (result.code !== 0 && noSuchThing.test(result.stderr)) return null;
      if (result.code !== 0 || result.timedOut) throw podmanFailure(options.argv, ['image', 'inspect', ref], result, timeoutMs);
      return result.stdout.trim() || null;
    },
    async load(file) {
      const result = await must(['load', '--quiet', '-i', file], limits.imageLoadTimeoutMs);
      return loadedRefs(result.stdout);
    },
    async run(args) {
      await must(['run', '-d', ...args]);
    },
    async start(name) {
      await must(['start', name]);
    },
    // No --time: the container's own stop timeout (`--stop-timeout` in [[container]] args) applies.
    async stop(name) {
      await must(['stop', name]);
    },
    async rename(from, to) {
      await must(['rename', from, to]);
    },
    async remove(name) {
      await must(['rm', '--force', '--ignore', name]);
    },
    async removeImage(ref) {
      const result = await call(['rmi', ref]);
      return result.code === 0 && !result.timedOut;
    },
    async healthcheck(name, checkTimeoutMs) {
      const result = await call(['healthcheck', 'run', name], checkTimeoutMs);
      if (result.code === 0 && !result.timedOut) return { healthy: true, detail: 'healthy' };
      // Exit 1 with "unhealthy" is the check's verdict; anything else is podman's trouble.
      const said = result.stdout.trim() || describeExit(result, checkTimeoutMs);
      return { healthy: false, detail: said };
    },
    async storageOnlyContainers() {
      const result = await must(['ps', '--all', '--external', '--format', 'json']);
      const rows = JSON.parse(result.stdout || '[]') as { Id?: string; Names?: string[]; State?: string }[];
      return rows.filter((r) => r.State === 'storage').map((r) => ({ id: r.Id ?? '', name: r.Names?.[0] ?? '' }));
    },
    async deleteRuntimeContainer(id) {
      // Host commands run the way podman does (plain, or through the systemd-run prefix of argv).
      const host = (args: string[]) => options.runner.run([...hostPrefix(options.argv), ...args], { timeoutMs });
      const info = await must(['info', '--format', '{{.Host.OCIRuntime.Path}}']);
      const runtime = info.stdout.trim();
      if (runtime) await host([runtime, 'delete', '--force', id]);
      // podman mounted the container's /dev/shm; without its database nobody unmounts it, and `podman rm` fails on it.
      const mounts = await host(['findmnt', '--raw', '--noheadings', '--output', 'TARGET']);
      for (const target of mounts.stdout.split('\n').filter((t) => t.includes(`/${id}/userdata/`))) await host(['umount', target]);
    },
    async renumber() {
      await must(['system', 'renumber']);
    },
    async lastLogLine(name) {
      const result = await call(['logs', '--tail', '1', name]);
      const text = `${result.stdout}\n${result.stderr}`.split('\n').map((l) => l.trim()).filter(Boolean);
      const line = result.code === 0 ? (text.at(-1) ?? '') : '';
      return line.length > 200 ? `${line.slice(0, 200)}…` : line;
    },
  };
}

/** What comes before podman itself in argv (e.g. `systemd-run … --`); empty for a plain podman. */
export function hostPrefix(argv: readonly string[]): string[] {
  const at = argv.findIndex((arg) => arg === 'podman' || arg.endsWith('/podman'));
  return at > 0 ? argv.slice(0, at) : [];
}

/**
 * SPEC install.md#podman-runs-outside-the-sandbox: podman run by systemd leaves conmon (and, without
 * cgroups, the container) in its transient unit, so a `systemd-run` prefix must keep systemd from
 * killing them when the unit ends. A warning naming what to add, or null when the prefix is fine.
 */
export function transientUnitWarning(argv: readonly string[]): string | null {
  const prefix = hostPrefix(argv);
  if (prefix.length === 0 || !/(^|\/)systemd-run$/.test(prefix[0]!) || prefix.includes('--scope')) return null;
  const properties = prefix.flatMap((arg, i) => {
    const attached = /^(?:-p|--property=)(.+)$/.exec(arg);
    if (attached) return [attached[1]!];
    return (arg === '-p' || arg === '--property') && prefix[i + 1] !== undefined ? [prefix[i + 1]!] : [];
  });
  if (properties.some((p) => /^KillMode=(process|none)$/.test(p))) return null;
  return '[podman] argv runs podman through systemd-run without -p KillMode=process: the end of each podman call\'s transient unit kills what podman leaves in it (the container\'s conmon), so containers die after they start; add "-p", "KillMode=process" before "--" (docs/install.md, Podman runs outside the sandbox)';
}

/** One line: which podman call failed and how; a podman that cannot start is a config error. */
function podmanFailure(argv: readonly string[], args: string[], result: RunResult, timeoutMs: number): TideError {
  const what = `${argv[0]} ${args.join(' ')}`;
  if (result.spawnError) {
    return new TideError('config', `[podman] argv: cannot run ${argv[0]} (${result.spawnError})`);
  }
  return new TideError('operator-needed', `${what} ${describeExit(result, timeoutMs)}`);
}

/** `podman load` prints "Loaded image: REF" or "Loaded image(s): A,B" (older versions). */
export function loadedRefs(stdout: string): string[] {
  const refs: string[] = [];
  for (const line of stdout.split('\n')) {
    const match = /^Loaded image(?:\(s\))?:\s*(.+)$/.exec(line.trim());
    if (match) refs.push(...match[1]!.split(',').map((r) => r.trim()).filter(Boolean));
  }
  return refs;
}

interface InspectJson {
  Id?: string;
  Name?: string;
  ImageName?: string;
  Image?: string;
  RestartCount?: number;
  State?: { Status?: string; Running?: boolean; ExitCode?: number; StartedAt?: string };
  Config?: { Healthcheck?: { Test?: string[] } | null; Labels?: Record<string, string> | null };
  HostConfig?: { RestartPolicy?: { Name?: string } };
}

export function parseContainerState(stdout: string, name: string): ContainerState {
  let parsed: InspectJson[];
  try {
    parsed = JSON.parse(stdout) as InspectJson[];
  } catch {
    throw new TideError('operator-needed', `podman container inspect ${name} printed something that is not JSON`);
  }
  const c = parsed[0];
  if (!c) throw new TideError('operator-needed', `podman container inspect ${name} printed no container`);
  const test = c.Config?.Healthcheck?.Test ?? [];
  return {
    id: c.Id ?? '',
    name: c.Name ?? name,
    imageRef: c.ImageName ?? '',
    imageId: c.Image ?? '',
    status: c.State?.Status ?? 'unknown',
    running: c.State?.Running === true,
    exitCode: c.State?.ExitCode ?? 0,
    startedAt: c.State?.StartedAt ?? '',
    restartCount: c.RestartCount ?? 0,
    restartPolicy: c.HostConfig?.RestartPolicy?.Name ?? '',
    hasHealthcheck: test.length > 0 && test[0] !== 'NONE',
    labels: c.Config?.Labels ?? {},
  };
}
