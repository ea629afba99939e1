// SPEC config.md#stage: a [[stage]] names [[container]] names and [[health.probe]] ids.
// A name that is not there is refused before anything runs (exit 2), with its line
// and the closest name that is there, like an unknown key.
import { closest } from 'fastest-levenshtein';
import { TideError } from '../errors.js';
import { lineOfKey, type KeyPath } from './key-lines.js';
import type { RawConfig } from './schema.js';

interface Refusal {
  path: KeyPath;
  message: string;
}

const hint = (name: string, known: string[]): string => (known.length > 0 ? `; did you mean ${closest(name, known)}?` : '');

/** The first wrong reference, in the order the config is written; null when all are right. */
export function findStageRefusal(config: Pick<RawConfig, 'stage' | 'container' | 'health'>): Refusal | null {
  const containerNames = config.container.map((c) => c.name);
  const probeIds = config.health.probe.map((p) => p.id).filter((id): id is string => id !== undefined);
  const seenProbe = new Set<string>();
  for (const [i, probe] of config.health.probe.entries()) {
    if (probe.id === undefined) continue;
    if (seenProbe.has(probe.id)) return { path: ['health', 'probe', i, 'id'], message: `health.probe.id: "${probe.id}" is the id of an earlier probe too; ids must be unique` };
    seenProbe.add(probe.id);
  }
  const stageOf = new Map<string, string>();
  const stageNames = new Set<string>();
  let serviceStage: string | undefined;
  for (const [i, stage] of config.stage.entries()) {
    if (stageNames.has(stage.name)) return { path: ['stage', i, 'name'], message: `stage.name: "${stage.name}" names two stages` };
    stageNames.add(stage.name);
    if (stage.service) {
      if (serviceStage !== undefined) return { path: ['stage', i, 'service'], message: `stage.service: both "${serviceStage}" and "${stage.name}" say service = true; the restart runs in one stage` };
      serviceStage = stage.name;
    }
    for (const [j, name] of stage.containers.entries()) {
      const path = ['stage', i, 'containers', j];
      if (!containerNames.includes(name)) return { path, message: `stage.containers: "${name}" (stage "${stage.name}") is not a [[container]] name${hint(name, containerNames)}` };
      const other = stageOf.get(name);
      if (other !== undefined) return { path, message: `stage.containers: "${name}" is in stage "${other}" and in stage "${stage.name}"; a container is in at most one stage` };
      stageOf.set(name, stage.name);
    }
    for (const [j, id] of stage.probes.entries()) {
      if (!probeIds.includes(id)) {
        return { path: ['stage', i, 'probes', j], message: `stage.probes: "${id}" (stage "${stage.name}") is not the id of a [[health.probe]]${hint(id, probeIds)}` };
      }
    }
  }
  return null;
}

export function refuseWrongStageReferences(config: RawConfig, text: string, file: string): void {
  const refusal = findStageRefusal(config);
  if (!refusal) return;
  // An array's element has no line of its own: the line of the key that holds it.
  const key = refusal.path.filter((k) => typeof k === 'string');
  const lastKey = refusal.path.map((k) => typeof k === 'string').lastIndexOf(true);
  const line = lineOfKey(text, refusal.path.slice(0, lastKey + 1)) ?? lineOfKey(text, key);
  const [what, rest] = [refusal.message.slice(0, refusal.message.indexOf(': ')), refusal.message.slice(refusal.message.indexOf(': ') + 2)];
  throw new TideError('config', `${what}: ${rest.replace(/(;|$)/, line !== undefined ? ` (line ${line})$1` : '$1')}`, { file });
}
