// SPEC containers.md#the-container-probe: type `container`: the container exists, runs, has not
// restarted while the health check watched it, and, when it (or its image) defines
// a healthcheck, `podman healthcheck run` says healthy. An exited container that
// podman will not restart is gone: the check fails fast instead of waiting it out.
import type { AttemptBudget, ContainerProbe, ProbeResult } from '../health/probes.js';
import type { ContainerState, Podman } from '../system/podman.js';

/** What one container looked like at the previous attempt. */
interface Sighting {
  id: string;
  restartCount: number;
  startedAt: string;
}

/** States a container leaves only when someone starts it again. */
const stoppedForGood = new Set(['exited', 'stopped', 'created', 'configured', 'dead']);

const restartsByItself = (state: ContainerState): boolean => state.restartPolicy !== '' && state.restartPolicy !== 'no';

/** `podman` should be built with a per-call timeout no longer than a probe attempt. */
export function createContainerProbe(podman: Podman): ContainerProbe {
  const lastSeen = new Map<string, Sighting>();
  return async (name: string, budget: AttemptBudget): Promise<ProbeResult> => {
    const began = performance.now();
    const state = await podman.inspectContainer(name);
    if (!state) {
      lastSeen.delete(name);
      return { ok: false, detail: 'does not exist', gone: true };
    }
    if (!state.running) return notRunning(podman, state);
    const restarted = restartSince(lastSeen.get(name), state);
    lastSeen.set(name, { id: state.id, restartCount: state.restartCount, startedAt: state.startedAt });
    // A restart during the stable window breaks the streak: it must be stable again from here.
    if (restarted) return { ok: false, detail: restarted };
    if (state.hasHealthcheck) {
      const left = Math.max(500, budget.timeoutMs - (performance.now() - began));
      const check = await podman.healthcheck(name, left);
      if (!check.healthy) return { ok: false, detail: `runs ${state.imageRef}, but its healthcheck says ${check.detail}` };
      return { ok: true, detail: `runs ${state.imageRef} and is healthy` };
    }
    return { ok: true, detail: `runs ${state.imageRef}` };
  };
}

/** Same container (same id) started again since the last attempt: it restarted. */
function restartSince(before: Sighting | undefined, now: ContainerState): string | null {
  if (!before || before.id !== now.id) return null;
  if (before.restartCount !== now.restartCount) return `restarted (restart count ${before.restartCount} → ${now.restartCount})`;
  if (before.startedAt !== now.startedAt) return `restarted (started again at ${now.startedAt})`;
  return null;
}

async function notRunning(podman: Podman, state: ContainerState): Promise<ProbeResult> {
  const said = await podman.lastLogLine(state.name).catch(() => '');
  const how = state.status === 'exited' ? `exited ${state.exitCode}` : `is ${state.status}`;
  const detail = `${how}${said ? `: ${said}` : ''}`;
  if (restartsByItself(state) || !stoppedForGood.has(state.status)) return { ok: false, detail };
  return { ok: false, detail, gone: true };
}
