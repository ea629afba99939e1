// The trust store's vocabulary: its phases, what it is given, what it answers.
import type { ErrorPlace } from '../errors.js';
import type { ChannelPointer } from '../documents/schemas.js';
import type { RememberedFacts } from './accepted-facts.js';
import type { PickedPointer } from './pick-offers.js';
import type { TrustedRoot } from './trusted-root.js';

/** The store's phases, in the one legal order. */
export const trustPhases = ['roots', 'revocations', 'pointer', 'manifest', 'done'] as const;
export type TrustPhase = (typeof trustPhases)[number];

/** Signed bytes as a mirror (or the local cache, without `mirror`) served them. */
export interface SignedAnswer {
  mirror?: string;
  bytes: Uint8Array;
  asc: string;
}

export interface TrustStoreInput extends RememberedFacts {
  app: string;
  channel: string;
  /** The newest root this host trusts (root 1 is the config's). */
  root: TrustedRoot;
  /** The one reference time of this run: every expiry is checked against it. */
  now: Date;
}

/** The pointer the store trusts, and the mirrors that served this very pointer, in the order offered. */
export type SettledPointer = PickedPointer;

export interface VerifiedPointer {
  pointer: ChannelPointer;
  /** Of the pointer's bytes: one sequence, one sha256 (SPEC trust.md#equivocation). */
  sha256: string;
  /** The trusted keys whose signatures verified. */
  signers: string[];
}

export const channelPath = (channel: string): string => `channels/${channel}.json`;
export const manifestPathOf = (version: string): string => `releases/${version}/manifest.json`;

/** Where a refusal happened: the mirror (absent for the local cache) and the file. */
export function place(mirror: string | undefined, file: string): ErrorPlace {
  return mirror === undefined ? { file } : { mirror, file };
}

/** A deep copy: what the store hands out cannot change what it holds. */
export function copyFacts(facts: RememberedFacts): RememberedFacts {
  return {
    accepted: Object.fromEntries(Object.entries(facts.accepted).map(([c, a]) => [c, { ...a }])),
    revocations: { ...facts.revocations, versions: [...facts.revocations.versions], keys: [...facts.revocations.keys] },
  };
}

