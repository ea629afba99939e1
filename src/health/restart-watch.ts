// Restarts during probation count as failures: a service that crashes and is restarted by
// systemd (Restart=on-failure) or a container restarted by podman's policy may answer
// every probe between two crashes. The watch takes a baseline, then names what restarted.
import type { ProcessRunner } from '../system/process-runner.js';
import { lastLine } from '../system/process-runner.js';
import { limits } from '../limits.js';

/** What identifies one run of a container: a new id, start time or restart count is a restart. */
export interface ContainerRun {
  id: string;
  startedAt: string;
  restartCount: number;
}

export interface RestartSources {
  /** The app's systemd unit ([service] unit), if the config names one. */
  unit?: string;
  runner: ProcessRunner;
  /** argv prefix for systemctl; default ["systemctl"]. */
  systemctl?: string[];
  /** The [[container]] names, and how to read one's current run (null: not there). */
  containers: string[];
  containerRun?: (name: string) => Promise<ContainerRun | null>;
}

/** `systemctl show -p NRestarts --value UNIT`: how often systemd restarted the unit; null when unknown. */
export async function unitRestarts(runner: ProcessRunner, unit: string, systemctl: string[] = ['systemctl']): Promise<number | null> {
  const result = await runner.run([...systemctl, 'show', '-p', 'NRestarts', '--value', unit], { timeoutMs: limits.probeAttemptTimeoutMs });
  const value = Number.parseInt(lastLine(result.stdout), 10);
  return result.code === 0 && !result.timedOut && Number.isInteger(value) ? value : null;
}

export interface RestartWatch {
  /** A restart since the baseline, as a reason ("unit demo.service was restarted 2 time(s)"); null for none. */
  restarted(): Promise<string | null>;
}

/** Take the baseline now. A source that cannot be read is left out (the probes still see the app). */
export async function watchRestarts(sources: RestartSources): Promise<RestartWatch> {
  const unitBase = sources.unit ? await unitRestarts(sources.runner, sources.unit, sources.systemctl) : null;
  const runs = new Map<string, ContainerRun | null>();
  for (const name of sources.containers) runs.set(name, (await sources.containerRun?.(name).catch(() => null)) ?? null);
  return {
    async restarted() {
      if (sources.unit && unitBase !== null) {
        const now = await unitRestarts(sources.runner, sources.unit, sources.systemctl);
        if (now !== null && now > unitBase) return `unit ${sources.unit} was restarted ${now - unitBase} time(s) (NRestarts ${unitBase} → ${now})`;
      }
      for (const [name, base] of runs) {
        if (!base || !sources.containerRun) continue;
        const now = await sources.containerRun(name).catch(() => null);
        if (!now) continue; // gone: the container probe (if any) says so
        if (now.id !== base.id) return `container ${name} was recreated`;
        if (now.restartCount > base.restartCount) return `container ${name} was restarted ${now.restartCount - base.restartCount} time(s) by podman`;
        if (now.startedAt !== base.startedAt) return `container ${name} was started again (at ${now.startedAt})`;
      }
      return null;
    },
  };
}
