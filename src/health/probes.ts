// SPEC config.md#healthprobe: one attempt of each probe type. An attempt never throws: it
// says whether the probe passed and, in one line, what it saw.
import type { ProbeSpec } from '../config/schema.js';
import { limits } from '../limits.js';
import type { ProcessRunner } from '../system/process-runner.js';
import { createProcessRunner, describeExit } from '../system/process-runner.js';
import { unitState } from '../system/systemd.js';
import { probeHttp } from './probe-http.js';
import { probeTcp } from './probe-tcp.js';
import type { ProbeResult } from './probe-result.js';

export type { ProbeResult } from './probe-result.js';

export interface AttemptBudget {
  /** The attempt gives up and fails after this long. */
  timeoutMs: number;
}

/** One attempt of one probe; settleHealth takes this so tests can pass a fake. */
export type ProbeAttempt = (probe: ProbeSpec, budget?: AttemptBudget) => Promise<ProbeResult>;

/** Container probes come from the podman code; health does not know podman. */
export type ContainerProbe = (name: string, budget: AttemptBudget) => Promise<ProbeResult>;

export interface ProberDeps {
  /** Runs `command` probes and `systemctl is-active` for `unit` probes. */
  runner?: ProcessRunner;
  containerProbe?: ContainerProbe;
  /** argv prefix for unit probes; default ["systemctl"]. */
  systemctl?: string[];
}

/** An attempt may take the interval, at most limits.probeAttemptTimeoutMs, and at least a second. */
export function attemptTimeoutFor(intervalMs: number): number {
  return Math.max(1_000, Math.min(intervalMs, limits.probeAttemptTimeoutMs));
}

/** The real prober: every probe type, wired to real sockets and processes. */
export function createProber(deps: ProberDeps = {}): ProbeAttempt {
  const runner = deps.runner ?? createProcessRunner();
  return async (probe, budget = { timeoutMs: limits.probeAttemptTimeoutMs }) => {
    try {
      return await attemptProbe(probe, budget, { ...deps, runner });
    } catch (err) {
      return { ok: false, detail: `could not be checked: ${err instanceof Error ? err.message : String(err)}` };
    }
  };
}

async function attemptProbe(
  probe: ProbeSpec,
  budget: AttemptBudget,
  deps: ProberDeps & { runner: ProcessRunner },
): Promise<ProbeResult> {
  switch (probe.type) {
    case 'http':
      return probeHttp(probe, budget.timeoutMs);
    case 'tcp':
      return probeTcp(probe, budget.timeoutMs);
    case 'unit':
      return probeUnit(probe.unit, budget.timeoutMs, deps);
    case 'command':
      return probeCommand(probe.argv, budget.timeoutMs, deps.runner);
    case 'container':
      if (!deps.containerProbe) return { ok: false, detail: 'cannot be checked: container probes need podman' };
      return deps.containerProbe(probe.name, budget);
  }
}

async function probeUnit(
  unit: string,
  timeoutMs: number,
  deps: { runner: ProcessRunner; systemctl?: string[] },
): Promise<ProbeResult> {
  const { state, detail } = await unitState(deps.runner, unit, { systemctl: deps.systemctl, timeoutMs });
  if (state === 'active') return { ok: true, detail: 'is active' };
  // A failed unit stays failed: waiting out the timeout would only delay the rollback.
  if (state === 'failed') return { ok: false, detail: 'is failed', gone: true };
  return { ok: false, detail: `is ${detail}` };
}

/** A command probe is never fail-fast: a non-zero exit may just mean "not ready yet". */
async function probeCommand(argv: string[], timeoutMs: number, runner: ProcessRunner): Promise<ProbeResult> {
  const result = await runner.run(argv, { timeoutMs });
  if (result.code === 0 && !result.timedOut) return { ok: true, detail: 'exited 0' };
  return { ok: false, detail: describeExit(result, timeoutMs) };
}

/** The probe as log lines and reasons name it: "http http://127.0.0.1:8080/". */
export function describeProbe(probe: ProbeSpec): string {
  switch (probe.type) {
    case 'http':
      return `http ${probe.url}`;
    case 'tcp':
      return `tcp ${probe.host.includes(':') ? `[${probe.host}]` : probe.host}:${probe.port}`;
    case 'unit':
      return `unit ${probe.unit}`;
    case 'command':
      return `command ${probe.argv.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : JSON.stringify(arg))).join(' ')}`;
    case 'container':
      return `container ${probe.name}`;
  }
}
