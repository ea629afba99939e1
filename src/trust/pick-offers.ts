// Which of several mirrors' verified answers the host trusts. SPEC formats.md#which-pointer-wins:
// all mirrors are asked and the valid pointer with the highest sequence wins — but
// two different valid documents with that same sequence (or root version) mean a
// signer equivocated or a key leaked: neither is trusted (SPEC trust.md#equivocation).
import { ExitCode, TideError, type ErrorPlace } from '../errors.js';
import type { ChannelPointer } from '../documents/schemas.js';
import { everyMirrorFailed } from '../mirror/fetch-from-mirrors.js';
import { sha256Hex, shortSha } from './document-checks.js';
import type { TrustedRoot } from './trusted-root.js';

/** One mirror's answer as the store judged it. */
export type Offer<T> = { mirror?: string; value: T } | { mirror?: string; error: TideError };

type Valid<T> = { mirror?: string; value: T };

const validOf = <T>(offers: readonly Offer<T>[]): Valid<T>[] => offers.flatMap((o) => ('value' in o ? [o] : []));
const errorsOf = <T>(offers: readonly Offer<T>[]): TideError[] => offers.flatMap((o) => ('error' in o ? [o.error] : []));
const mirrorName = (o: { mirror?: string }): string => o.mirror ?? 'the local cache';

/** Refuse when the answers with the deciding number differ in their bytes; else the mirrors that agree. */
function refuseEquivocation<T>(answers: readonly Valid<T>[], shaOf: (v: T) => string, describe: (v: T) => string, what: string, where: ErrorPlace): void {
  const distinct = new Set(answers.map((a) => shaOf(a.value)));
  if (distinct.size <= 1) return;
  // Sorted by mirror, so the same disagreement reads the same whichever mirror answered first.
  const list = [...answers].sort((a, b) => mirrorName(a).localeCompare(mirrorName(b))).map((a) => `${mirrorName(a)} (${describe(a.value)}, sha256 ${shortSha(shaOf(a.value))}…)`).join(', ');
  throw new TideError('equivocation', `mirrors serve different ${what}: ${list}; one must be forged or replayed, so neither is trusted`, where);
}

/**
 * SPEC trust.md#how-a-host-walks-the-chain: the next root, when a mirror serves a valid one. No valid one and
 * some mirror says there is none: the walk ends (refusals are returned to warn about).
 * No valid one and no mirror says there is none: the refusal stands (exit 3).
 */
export function pickRoot(offers: readonly Offer<TrustedRoot>[], failures: readonly TideError[], path: string): { root?: TrustedRoot; ignored: TideError[] } {
  const valid = validOf(offers);
  // A mirror's answer refused by the store, or refused on the way (a root without its signature).
  const refused = [...errorsOf(offers), ...failures.filter((f) => f.exitCode === ExitCode.refused)];
  const unanswered = failures.filter((f) => f.exitCode !== ExitCode.refused);
  if (valid.length === 0) {
    const noneThere = unanswered.some((f) => f.code === 'not-found');
    if (refused.length > 0 && !noneThere) throw everyMirrorFailed([...refused, ...unanswered], path);
    return { ignored: refused };
  }
  const shaOf = (root: TrustedRoot) => sha256Hex(root.signed!.bytes);
  refuseEquivocation(valid, shaOf, (r) => `${r.keys.length} key(s), threshold ${r.threshold}`, `roots with version ${valid[0]!.value.version}`, { file: path });
  return { root: valid[0]!.value, ignored: refused };
}

export interface PickedPointer {
  pointer: ChannelPointer;
  sha256: string;
  mirrors: string[];
}

/** SPEC formats.md#which-pointer-wins: the highest valid sequence wins, unless two mirrors disagree about it. */
export function pickPointer(offers: readonly Offer<{ pointer: ChannelPointer; sha256: string }>[], failures: readonly TideError[], path: string): PickedPointer {
  const valid = validOf(offers);
  if (valid.length === 0) throw everyMirrorFailed([...errorsOf(offers), ...failures], path);
  const best = Math.max(...valid.map((v) => v.value.pointer.sequence));
  const atBest = valid.filter((v) => v.value.pointer.sequence === best);
  refuseEquivocation(atBest, (v) => v.sha256, (v) => `version ${v.pointer.version}`, `channel pointers with sequence ${best}`, { file: path });
  const winner = atBest[0]!.value;
  return { pointer: winner.pointer, sha256: winner.sha256, mirrors: atBest.map(mirrorName) };
}
