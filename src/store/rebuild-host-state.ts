// SPEC host-layout.md#a-damaged-statejson: the first step of every run that holds the
// lock. A damaged state.json is moved aside (state.json.broken-<time>) and rebuilt:
// intact fields kept, the accepted sequence per channel and the revocations taken
// from the verified documents in the cache (their signatures checked again), bad
// versions from the history; one warning line says what was done.
import { basename } from 'node:path';
import { revocationsSchema, channelPointerSchema, type ChannelPointer, type Revocations } from '../documents/schemas.js';
import type { TrustedKey } from '../trust/trusted-keys.js';
import { verifyDetached } from '../trust/verify-signatures.js';
import { listCachedDocuments, removeDamagedCacheFiles, type CachedSigned } from './document-cache.js';
import { inspectHostState, writeHostState, type HostState, type StateDamage } from './host-state.js';
import type { Layout } from './layout.js';
import { moveAside } from './persisted-file.js';
import { readVersionLink } from './version-links.js';

export interface RebuildTrust {
  app: string;
  keys: readonly TrustedKey[];
  threshold: number;
}

export interface RepairDeps {
  now: Date;
  /** The config's trusted keys, read only when something must be rebuilt. */
  trust: () => Promise<RebuildTrust>;
  warn: (message: string) => void;
}

/** Repair what is damaged in state.json and the document cache; a warning line for each. */
export async function repairHostState(layout: Layout, deps: RepairDeps): Promise<void> {
  const removed = removeDamagedCacheFiles(layout);
  if (removed.length > 0) {
    deps.warn(`damaged document cache file(s) ${removed.map((n) => `cache/${n}`).join(', ')} (bytes no longer match their name); removed, fetched afresh (file ${layout.stateDir}/cache)`);
  }
  const { state, damage, present } = inspectHostState(layout);
  const current = readVersionLink(layout.current);
  // Gone on a host that has installed or verified something: lost (a crash between moving
  // a damaged file aside and writing its rebuild, or deleted by hand), not a fresh host.
  const missing = !present && (current !== null || listCachedDocuments(layout).length > 0);
  if (!damage && !missing) return;
  const rebuilt = await rebuildFromCache(layout, state, await deps.trust(), deps.now);
  const keptAs = damage ? basename(moveAside(layout.state, deps.now)) : null;
  writeHostState(layout, rebuilt.state);
  deps.warn(repairLine(layout, damage, keptAs, rebuilt, current, readVersionLink(layout.previous)));
}

function repairLine(layout: Layout, damage: StateDamage | null, keptAs: string | null, rebuilt: { state: HostState; done: string[] }, current: string | null, previous: string | null): string {
  const what = damage ? `state.json ${damage.reason}; kept as ${keptAs}` : 'state.json is missing on a host that has installed or verified something';
  const links = `current ${current ?? '(none)'} and previous ${previous ?? '(none)'} from the links`;
  const intact = (damage?.intact ?? []).map((name) => (name === 'history' ? `history (${rebuilt.state.history.length} entries)` : name));
  const kept = intact.length > 0 ? `; kept intact: ${intact.join(', ')}` : '';
  return `${what}; rebuilt ${[...rebuilt.done, ...(damage?.rebuilt ?? []), links].join(', ')}${kept} (file ${layout.state})`;
}

/**
 * The accepted sequence per channel can only go up: the highest of what survived and of
 * every cached pointer for this app still signed by the trusted keys (expired or not: a
 * sequence once signed is never accepted lower). Revocations are united the same way.
 */
async function rebuildFromCache(layout: Layout, salvaged: HostState, trust: RebuildTrust, now: Date): Promise<{ state: HostState; done: string[] }> {
  const state = structuredClone(salvaged);
  const documents = listCachedDocuments(layout);
  const { pointers, lists } = await verifiedDocuments(documents, { ...trust, now });
  for (const { pointer } of pointers) {
    state.sequences[pointer.channel] = Math.max(state.sequences[pointer.channel] ?? 0, pointer.sequence);
  }
  // SPEC trust.md#equivocation: the pointer at the accepted sequence is known by its bytes too.
  for (const { pointer, sha256 } of pointers) {
    const known = state.acceptedPointers[pointer.channel];
    if (pointer.sequence === state.sequences[pointer.channel] && (!known || known.sequence < pointer.sequence)) {
      state.acceptedPointers[pointer.channel] = { sequence: pointer.sequence, sha256, root: known?.root ?? 1 };
    }
  }
  state.revocations = lists.reduce(unite, state.revocations);
  const sequences = Object.entries(state.sequences).map(([channel, n]) => `${channel} ${n}`).join(', ') || 'none';
  return {
    state,
    done: [
      `sequences (${sequences}; ${pointers.length} verified pointer(s) in the cache)`,
      `revocations (sequence ${state.revocations.sequence ?? 'none'}, ${state.revocations.versions.length} version(s), ${state.revocations.keys.length} key(s))`,
    ],
  };
}

function unite(known: HostState['revocations'], list: Revocations): HostState['revocations'] {
  return {
    sequence: Math.max(known.sequence ?? 0, list.sequence),
    versions: [...new Set([...known.versions, ...list.versions])].sort(),
    keys: [...new Set([...known.keys, ...list.keys.map((k) => k.replace(/\s+/g, '').toLowerCase())])].sort(),
  };
}

/** What a cached document is: a channel pointer, a revocations list, or neither (a manifest). */
function classify(bytes: Buffer): { pointer: ChannelPointer } | { list: Revocations } | undefined {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  // A pointer first: the revocations schema ignores the fields that make a pointer one.
  const pointer = channelPointerSchema.safeParse(json);
  if (pointer.success) return { pointer: pointer.data };
  const list = revocationsSchema.safeParse(json);
  return list.success && !(typeof json === 'object' && json !== null && 'artifacts' in json) ? { list: list.data } : undefined;
}

/** The cached pointers (with the sha256 of their bytes) and revocations for this app whose signatures verify now with the trusted keys. */
async function verifiedDocuments(documents: readonly CachedSigned[], trust: RebuildTrust & { now: Date }): Promise<{ pointers: { pointer: ChannelPointer; sha256: string }[]; lists: Revocations[] }> {
  const pointers: { pointer: ChannelPointer; sha256: string }[] = [];
  const lists: Revocations[] = [];
  for (const document of documents) {
    const kind = classify(document.bytes);
    const app = kind && ('pointer' in kind ? kind.pointer.app : kind.list.app);
    if (!kind || app !== trust.app) continue;
    try {
      // Revoked keys still count here: what they signed was accepted, and only makes the host stricter.
      await verifyDetached({ data: document.bytes, armoredSignature: document.asc, keys: trust.keys, threshold: trust.threshold, now: trust.now });
    } catch {
      // Not signed by enough trusted keys now: it proves nothing.
      continue;
    }
    if ('pointer' in kind) pointers.push({ pointer: kind.pointer, sha256: document.sha256 });
    else lists.push(kind.list);
  }
  return { pointers, lists };
}
