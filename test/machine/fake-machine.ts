// A MachineContext with every side effect faked (for unit tests only): a fake clock
// (wall and monotonic advance together, sleep advances them), a fake restart command, a
// fake prober and fake containers. The state dir is real (the marker and state.json are
// the real files), so each fake side effect records the phase the marker on disk named
// when it ran: "the marker is written before each side effect" is then one assertion.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load-config.js';
import { layoutFor, type Layout } from '../../src/store/layout.js';
import { updateHostState } from '../../src/store/host-state.js';
import { pointVersionLink, readVersionLink } from '../../src/store/version-links.js';
import type { MachineContext } from '../../src/machine/context.js';
import type { ProbeResult } from '../../src/health/probes.js';
import type { LogEvent, LogLevel } from '../../src/log/logger.js';
import type { RunResult } from '../../src/system/process-runner.js';

/** One side effect, with the marker's phase on disk at that moment (null: no marker). */
export interface Effect {
  what: string;
  markerPhase: string | null;
}

/** What a fake side effect does: succeed, fail, or hang forever (the process was killed there). */
export type Behaviour = 'ok' | 'fail' | 'hang';

export interface FakeWorld {
  /** Restart command per version ([service] restart, TIDE_VERSION). */
  restart: Record<string, Behaviour>;
  /** Probe answer per version and phase of the marker: e.g. probe['1.1.0:probation']. Default ok. */
  probe: Record<string, Behaviour | ((t: number) => Behaviour)>;
  /** containers.switchTo per version. */
  switchTo: Record<string, Behaviour>;
  /** Abort (as SIGTERM would) when this effect is about to run. */
  abortAt?: string;
  /** The logger throws on this event (an error inside a phase, from tide itself). */
  throwOnEvent?: string;
}

export interface FakeHost {
  dir: string;
  layout: Layout;
  effects: Effect[];
  /** Milliseconds since the fake epoch (wall and monotonic). */
  time: { t: number };
  world: FakeWorld;
  logs: { level: LogLevel; event: LogEvent }[];
  context(): MachineContext;
  /** kill -9: every context made so far stops dead (its pending and later side effects never return). */
  kill(): void;
  marker(): Record<string, unknown> | null;
  state(): { bad: string[]; history: { from: string | null; to: string; result: string; reason?: string; inProbation?: boolean }[]; lastResult: string | null };
}

const epoch = Date.parse('2030-01-01T00:00:00Z');
const never = new Promise<never>(() => undefined);

export function fakeHost(dir: string, opts: { probation?: string; stable?: string } = {}): FakeHost {
  const stateDir = join(dir, 'state');
  const layout = layoutFor(stateDir);
  for (const v of ['1.0.0', '1.1.0']) {
    mkdirSync(join(stateDir, 'versions', v, 'bin'), { recursive: true });
    writeFileSync(join(stateDir, 'versions', v, 'bin', 'demo'), `demo ${v}\n`);
  }
  writeFileSync(join(dir, 'release.pub.asc'), '');
  pointVersionLink(layout, layout.current, '1.0.0');
  // A state.json as a first install leaves it (a missing one would be rebuilt from the mirrors' trust).
  updateHostState(layout, (state) => { state.history.push({ time: new Date(epoch - 60_000).toISOString(), from: null, to: '1.0.0', result: 'committed' }); });
  const configText = `app = "demo"
channel = "stable"
state_dir = ${JSON.stringify(stateDir)}
mirrors = ["file:///nowhere"]
keys = ["release.pub.asc"]
keep = 1
[[link]]
path = ${JSON.stringify(join(dir, 'bin', 'demo'))}
target = "bin/demo"
[service]
restart = ["/fake/restart"]
[health]
timeout = "10s"
interval = "1s"
stable = ${JSON.stringify(opts.stable ?? '2s')}
probation = ${JSON.stringify(opts.probation ?? '0s')}
[[health.probe]]
type = "http"
url = "http://127.0.0.1:9/"
`;
  const config = parseConfig(configText, join(dir, 'tide.toml'));
  const effects: Effect[] = [];
  const time = { t: 0 };
  const world: FakeWorld = { restart: {}, probe: {}, switchTo: {} };
  const logs: FakeHost['logs'] = [];
  const markerPhase = (): string | null => {
    try {
      return JSON.parse(readFileSync(layout.pending, 'utf8')).phase;
    } catch {
      return null;
    }
  };

  let generation = 0;
  let diedAt = 0;
  function context(): MachineContext {
    const interrupt = new AbortController();
    const mine = generation;
    const dead = () => mine !== generation;
    const effect = async (what: string, behaviour: Behaviour): Promise<boolean> => {
      if (dead()) return never;
      if (world.abortAt === what || world.abortAt === `${what}@${markerPhase()}`) interrupt.abort();
      effects.push({ what, markerPhase: markerPhase() });
      if (behaviour === 'hang') return never;
      return behaviour === 'ok';
    };
    const done = (ok: boolean): RunResult => ({ code: ok ? 0 : 1, signal: null, stdout: '', stderr: ok ? '' : 'fake failure', timedOut: false });
    return {
      config,
      layout,
      logger: {
        log(level, event) {
          logs.push({ level, event });
          if (world.throwOnEvent === event.event) throw new Error(`injected failure in the ${event.event} log`);
        },
      },
      client: { get: async () => { throw new Error('no mirrors in the fake'); } } as unknown as MachineContext['client'],
      runner: {
        async run(argv, runOpts) {
          if (argv[0] === '/fake/restart') {
            const v = runOpts?.env?.TIDE_VERSION ?? '?';
            return done(await effect(`restart ${v}`, world.restart[v] ?? 'ok'));
          }
          return done(false);
        },
      },
      async prober(): Promise<ProbeResult> {
        const current = readVersionLink(layout.current) ?? '(none)';
        const phase = markerPhase() ?? 'none';
        const rule = world.probe[`${current}:${phase}`] ?? 'ok';
        const behaviour = typeof rule === 'function' ? rule(time.t) : rule;
        const ok = await effect(`probe ${current}`, behaviour);
        return ok ? { ok: true, detail: 'answered 200', answered: true } : { ok: false, detail: 'answered 500, expected 200', answered: true };
      },
      // A dead process's clock stopped when it died (its timers must not see the next run's time).
      now: () => new Date(epoch + (dead() ? diedAt : time.t)),
      monotonic: () => (dead() ? diedAt : time.t),
      async sleep(ms) {
        if (dead()) return never;
        time.t += Math.max(ms, 1);
      },
      machineId: 'fake',
      interrupt,
      containers: {
        async switchTo(version) {
          if (!(await effect(`containers ${version}`, world.switchTo[version] ?? 'ok'))) throw new Error(`containers for ${version} did not start`);
        },
        async commit(version) {
          await effect(`containers commit ${version}`, 'ok');
        },
      },
      crashPoint: () => undefined,
    };
  }

  return {
    dir, layout, effects, time, world, logs, context,
    kill: () => { generation += 1; diedAt = time.t; },
    marker: () => {
      try {
        return JSON.parse(readFileSync(layout.pending, 'utf8'));
      } catch {
        return null;
      }
    },
    state: () => JSON.parse(readFileSync(layout.state, 'utf8')),
  };
}

