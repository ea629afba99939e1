// systemd through `systemctl`, run by the process runner (tests pass a fake runner:
// systemd is not PID 1 on build machines).
import { limits } from '../limits.js';
import { describeExit, lastLine, type ProcessRunner } from './process-runner.js';

export interface SystemctlOptions {
  /** argv prefix; e.g. ["systemctl", "--user"]. */
  systemctl?: string[];
  timeoutMs?: number;
}

export interface UnitState {
  /** What `systemctl is-active` printed: active, inactive, failed, activating, … or unknown. */
  state: string;
  /** One line for reasons: the state, or why systemctl could not tell. */
  detail: string;
}

/** `systemctl is-active UNIT`; its exit code is non-zero for every state but active, so read stdout. */
export async function unitState(runner: ProcessRunner, unit: string, opts: SystemctlOptions = {}): Promise<UnitState> {
  const systemctl = opts.systemctl ?? ['systemctl'];
  const timeoutMs = opts.timeoutMs ?? limits.probeAttemptTimeoutMs;
  const result = await runner.run([...systemctl, 'is-active', unit], { timeoutMs });
  const state = lastLine(result.stdout);
  if (state && !result.timedOut) return { state, detail: state };
  return { state: 'unknown', detail: `unknown (systemctl ${describeExit(result, timeoutMs)})` };
}

export async function isActive(runner: ProcessRunner, unit: string, opts?: SystemctlOptions): Promise<boolean> {
  return (await unitState(runner, unit, opts)).state === 'active';
}

/** A failed unit stays failed until something restarts it: the health probe gives up at once. */
export async function isFailed(runner: ProcessRunner, unit: string, opts?: SystemctlOptions): Promise<boolean> {
  return (await unitState(runner, unit, opts)).state === 'failed';
}

export interface RestartOutcome {
  ok: boolean;
  /** "ran systemctl restart demo.service" or "systemctl restart demo.service exited 1: …". */
  detail: string;
  /**
   * The restart could not even be asked for (the command is missing, systemd cannot be
   * reached): the host's fault, not the release's, so the release is not marked bad.
   */
  hostFault?: boolean;
}

// What systemctl says when it cannot talk to PID 1, not when the unit failed to start.
const cannotReachSystemd = /Failed to connect to bus|Failed to get D-Bus connection|System has not been booted with systemd|Transport endpoint is not connected|Connection timed out|Connection reset by peer/i;

/**
 * SPEC config.md#service: run the restart argv (`restart = [...]`, or `systemctl restart UNIT`
 * for `unit = ...`). Does not throw on failure: the transaction decides what a failed
 * restart means (roll back on the way forward, record and go on during a rollback).
 */
export async function restartService(
  runner: ProcessRunner,
  argv: string[],
  opts: { timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<RestartOutcome> {
  const timeoutMs = opts.timeoutMs ?? limits.serviceRestartTimeoutMs;
  const restarted = unitsRestartedBy(argv);
  if (restarted) await resetFailed(runner, restarted);
  const result = await runner.run(argv, { timeoutMs, env: opts.env });
  const command = argv.join(' ');
  if (result.code === 0 && !result.timedOut) return { ok: true, detail: `ran ${command}` };
  const hostFault = result.spawnError !== undefined || cannotReachSystemd.test(result.stderr);
  const cause = restarted && !hostFault ? await unitCauses(runner, restarted) : '';
  return { ok: false, detail: `${command} ${describeExit(result, timeoutMs)}${cause}`, ...(hostFault && { hostFault }) };
}

interface RestartedUnits {
  /** The argv before `restart`: systemctl and its flags (`--user`, …). */
  systemctl: string[];
  units: string[];
}

/** `systemctl [flags] restart UNIT...`: its systemctl prefix and units; null for any other command. */
export function unitsRestartedBy(argv: string[]): RestartedUnits | null {
  const at = argv.indexOf('restart');
  if (at < 1 || !/(^|\/)systemctl$/.test(argv[0]!)) return null;
  const systemctl = argv.slice(0, at);
  const units = argv.slice(at + 1).filter((arg) => !arg.startsWith('-'));
  if (systemctl.slice(1).some((arg) => !arg.startsWith('-')) || units.length === 0) return null;
  return { systemctl, units };
}

/**
 * A unit that crash-looped under `Restart=` (the previous release, a broken one) hit its
 * start limit and is failed: systemd refuses to start it again until its failed state is
 * reset ("Start request repeated too quickly"). Reset it before every restart, forward and
 * back. Its result is not checked: a unit that is not failed has nothing to reset.
 */
async function resetFailed(runner: ProcessRunner, r: RestartedUnits): Promise<void> {
  await runner.run([...r.systemctl, 'reset-failed', ...r.units], { timeoutMs: limits.probeAttemptTimeoutMs });
}

/** Why systemd refused or failed the start, from the units' own state: "; demo.service: failed (start-limit-hit, 5 restarts)". */
async function unitCauses(runner: ProcessRunner, r: RestartedUnits): Promise<string> {
  const parts: string[] = [];
  for (const unit of r.units) {
    const shown = await runner.run([...r.systemctl, 'show', '-p', 'ActiveState,Result,NRestarts', unit], { timeoutMs: limits.probeAttemptTimeoutMs });
    if (shown.code !== 0 || shown.timedOut) continue;
    const fields = Object.fromEntries(shown.stdout.split('\n').map((line) => line.split('=', 2) as [string, string]).filter(([name]) => name));
    const restarts = fields.NRestarts && fields.NRestarts !== '0' ? `, ${fields.NRestarts} restart${fields.NRestarts === '1' ? '' : 's'}` : '';
    parts.push(`${unit}: ${fields.ActiveState ?? 'unknown'} (${fields.Result ?? 'unknown'}${restarts})`);
  }
  return parts.length > 0 ? `; ${parts.join('; ')}` : '';
}

export function restartUnit(
  runner: ProcessRunner,
  unit: string,
  opts: SystemctlOptions = {},
): Promise<RestartOutcome> {
  return restartService(runner, [...(opts.systemctl ?? ['systemctl']), 'restart', unit], { timeoutMs: opts.timeoutMs });
}
