// SPEC config.md#stage: what starts before what. Pure: the config's [[stage]] tables
// turned into the order the swap, the rollback, recover and the reconciler follow.
import type { ContainerSpec, ProbeSpec, RawConfig } from '../config/schema.js';

export interface Stage {
  name: string;
  containers: ContainerSpec[];
  probes: ProbeSpec[];
  /** This stage's probes must pass by then. */
  timeoutMs: number;
  /** The [service] restart runs in this stage. */
  service: boolean;
}

/** A config without [[stage]] is one stage holding every container and probe. */
export const implicitStageName = 'all';

/**
 * Stages in the order written. Containers not in any stage, and probes no stage
 * lists, belong to the last stage; so does the restart unless a stage says service = true.
 */
export function planStages(config: Pick<RawConfig, 'stage' | 'container' | 'health'>): Stage[] {
  const written = config.stage.length > 0 ? config.stage : [{ name: implicitStageName, containers: [], probes: [], timeout: undefined, service: false }];
  const byName = new Map(config.container.map((c) => [c.name, c]));
  const listedProbes = new Set(config.stage.flatMap((s) => s.probes));
  const serviceWritten = written.some((s) => s.service);
  const stages = written.map((s, i): Stage => ({
    name: s.name,
    containers: s.containers.map((n) => byName.get(n)).filter((c): c is ContainerSpec => c !== undefined),
    probes: config.health.probe.filter((p) => p.id !== undefined && s.probes.includes(p.id)),
    timeoutMs: s.timeout ?? config.health.timeout,
    service: serviceWritten ? s.service : i === written.length - 1,
  }));
  const last = stages.at(-1)!;
  const staged = new Set(config.stage.flatMap((s) => s.containers));
  last.containers.push(...config.container.filter((c) => !staged.has(c.name)));
  last.probes.push(...config.health.probe.filter((p) => p.id === undefined || !listedProbes.has(p.id)));
  return stages;
}

/** Every container, in start order. */
export const startOrder = (stages: readonly Stage[]): ContainerSpec[] => stages.flatMap((s) => s.containers);

/** Every container, in stop order: the last stage first. */
export const stopOrder = (stages: readonly Stage[]): ContainerSpec[] => [...stages].reverse().flatMap((s) => [...s.containers].reverse());
