// What a host remembers between runs about what it trusted: per channel the pointer
// it accepted, and the union of every revocations list it accepted. The trust store
// reads these and hands back the new ones; src/store persists them.
import type { Revocations } from '../documents/schemas.js';
import { normalizeFingerprint } from './trusted-keys.js';
import type { TrustedRoot } from './trusted-root.js';

export interface AcceptedPointer {
  /** SPEC formats.md#sequence-and-expiry: the highest sequence accepted; a lower one is refused. */
  sequence: number;
  /** SPEC trust.md#equivocation: sha256 of that pointer's bytes; null when not known (older state files, floors). */
  sha256: string | null;
  /** SPEC trust.md#sequence-floors: the root version whose keys accepted it. */
  root: number;
}

export interface AcceptedRevocations {
  /** The highest revocations sequence accepted, or null before the first list. */
  sequence: number | null;
  versions: string[];
  /** Normalised fingerprints. */
  keys: string[];
  /** The root version under which the sequence was accepted (absent: root 1). */
  root?: number;
}

export interface RememberedFacts {
  /** Per channel. */
  accepted: Record<string, AcceptedPointer>;
  revocations: AcceptedRevocations;
}

/** SPEC formats.md#revocations: a revocation is never taken back by a later list; keep the union. */
export function mergeRevocations(known: AcceptedRevocations, newest: Revocations, root: number): AcceptedRevocations {
  return {
    sequence: Math.max(newest.sequence, known.sequence ?? 0),
    versions: [...new Set([...known.versions, ...newest.versions])].sort(),
    keys: [...new Set([...known.keys, ...newest.keys.map(normalizeFingerprint)])].sort(),
    root,
  };
}

/**
 * SPEC trust.md#sequence-floors: a root that carries `sequences` replaces every sequence
 * accepted under an older root by its floor (0 for a channel it does not name), so a
 * huge sequence signed by a key rotated away no longer locks the channel. Applied when
 * the root is accepted, and again when it is loaded (a crash in between loses nothing).
 * Revoked versions and keys stay revoked.
 */
export function applySequenceFloors(facts: RememberedFacts, root: TrustedRoot): RememberedFacts {
  const floors = root.sequences;
  if (!floors) return facts;
  const accepted: Record<string, AcceptedPointer> = {};
  for (const [channel, entry] of Object.entries(facts.accepted)) {
    if (entry.root >= root.version) {
      accepted[channel] = entry;
      continue;
    }
    const floor = floors.channels[channel] ?? 0;
    accepted[channel] = { sequence: floor, sha256: entry.sequence === floor ? entry.sha256 : null, root: root.version };
  }
  for (const [channel, floor] of Object.entries(floors.channels)) {
    accepted[channel] ??= { sequence: floor, sha256: null, root: root.version };
  }
  let revocations = facts.revocations;
  if (floors.revocations !== undefined && (revocations.root ?? 1) < root.version) {
    revocations = { ...revocations, sequence: floors.revocations, root: root.version };
  }
  return { accepted, revocations };
}
