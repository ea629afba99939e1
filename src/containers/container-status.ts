// SPEC commands.md#tide-status: every container with its stage, image, state,
// restarts, health and the last probe result. `tide status` must start without zod
// (docs/benchmarks.md): containers.json is peeked as plain JSON, and podman is asked
// only when the host has containers, in one `podman container inspect` call.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runProcess } from '../system/process-runner.js';

export interface ContainerStatus {
  name: string;
  stage: string;
  /** The image it should run (the release's tag). */
  image: string;
  /** podman's state: running, exited, …; "missing" when podman has no such container. */
  state: string;
  /** The image it runs now (differs from `image` only when something is wrong). */
  runningImage: string | null;
  restarts: number | null;
  /** healthy, unhealthy, starting; "none" without a healthcheck. */
  health: string;
  /** The last result of its stage's probes (and of a container probe naming it), by probe. */
  probes: ProbeStatus[];
}

export interface ProbeStatus {
  probe: string;
  ok: boolean;
  detail: string;
  at: string;
}

interface Peeked {
  podmanArgv: string[];
  containers: { name: string; stage: string; image: string }[];
  probes: Record<string, { ok: boolean; detail: string; at: string }>;
  stageProbes: Record<string, string[]>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** containers.json as written by the last run; null when absent or not plainly well formed. */
function peekRecord(stateDir: string): Peeked | null {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(join(stateDir, 'containers.json'), 'utf8'));
  } catch {
    return null;
  }
  if (!isObject(raw) || !isStringList(raw.podmanArgv) || raw.podmanArgv.length === 0 || !Array.isArray(raw.containers)) return null;
  const containers = raw.containers.filter((c): c is Peeked['containers'][number] => isObject(c) && typeof c.name === 'string' && typeof c.stage === 'string' && typeof c.image === 'string');
  const probes: Peeked['probes'] = {};
  if (isObject(raw.probes)) {
    for (const [key, p] of Object.entries(raw.probes)) {
      if (isObject(p) && typeof p.ok === 'boolean' && typeof p.detail === 'string' && typeof p.at === 'string') probes[key] = { ok: p.ok, detail: p.detail, at: p.at };
    }
  }
  const stageProbes: Peeked['stageProbes'] = {};
  if (isObject(raw.stageProbes)) for (const [stage, list] of Object.entries(raw.stageProbes)) if (isStringList(list)) stageProbes[stage] = list;
  return { podmanArgv: raw.podmanArgv, containers, probes, stageProbes };
}

interface Inspected {
  Name?: string;
  ImageName?: string;
  RestartCount?: number;
  State?: { Status?: string; Health?: { Status?: string }; Healthcheck?: { Status?: string } };
}

/** null when the host has no containers (or no run recorded them yet). */
export async function readContainerStatus(stateDir: string): Promise<ContainerStatus[] | null> {
  const record = peekRecord(stateDir);
  if (!record || record.containers.length === 0) return null;
  const names = record.containers.map((c) => c.name);
  const run = await runProcess([...record.podmanArgv, 'container', 'inspect', '--format', 'json', ...names], { timeoutMs: 10_000 });
  // A missing container makes podman exit 125 after printing the others.
  let found: Inspected[] = [];
  try {
    found = JSON.parse(run.stdout || '[]') as Inspected[];
  } catch { /* podman could not answer: every state is unknown */ }
  const unknown = run.code !== 0 && found.length === 0 && !/no such container/i.test(run.stderr);
  return record.containers.map((c) => {
    const seen = found.find((f) => f.Name === c.name);
    const healthStatus = seen?.State?.Health?.Status ?? seen?.State?.Healthcheck?.Status;
    const keys = [...(record.stageProbes[c.stage] ?? []), `container ${c.name}`];
    return {
      name: c.name,
      stage: c.stage,
      image: c.image,
      state: seen?.State?.Status ?? (unknown ? `unknown (${run.stderr.trim().split('\n')[0] || 'podman gave no answer'})` : 'missing'),
      runningImage: seen?.ImageName ?? null,
      restarts: seen?.RestartCount ?? null,
      health: healthStatus ? healthStatus : 'none',
      probes: keys.flatMap((key) => (record.probes[key] ? [{ probe: key, ...record.probes[key]! }] : [])),
    };
  });
}
