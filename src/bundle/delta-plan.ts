// SPEC formats.md#the-tree-artifact: which kept version a new tree is staged from, and
// what must be fetched. Pure: verified trees in, a plan out. A file is reused when a
// kept version holds a file with the same sha256 (wherever it lies in that tree); a
// kept version is used only when it holds enough of the new tree's bytes, otherwise
// the bundle is cheaper (one request, one stream) and the plan is none.
import { limits } from '../limits.js';
import type { CheckedTree } from './tree-document.js';

/** What staging needs of a kept version's verified tree: only where each content lies (its entries are not kept). */
export interface KeptTree {
  version: string;
  /** The version's directory: versions/<version>. */
  dir: string;
  /** sha256 -> the first path holding those bytes. */
  files: ReadonlyMap<string, string>;
}

export interface DeltaPlan {
  from: KeptTree;
  /** sha256 -> the kept version's path holding those bytes. */
  reusable: ReadonlyMap<string, string>;
  /** Bytes of the new tree's files that a kept file holds, and that must be fetched. */
  reusedBytes: number;
  fetchBytes: number;
}

/** A kept version's tree as staging uses it. */
export function keptTreeOf(version: string, dir: string, tree: CheckedTree): KeptTree {
  const files = new Map<string, string>();
  for (const entry of tree.entries) {
    if (entry.kind === 'file' && entry.sha256 && !files.has(entry.sha256)) files.set(entry.sha256, entry.path);
  }
  return { version, dir, files };
}

function planFrom(target: CheckedTree, kept: KeptTree): DeltaPlan {
  const reusable = kept.files;
  let reusedBytes = 0;
  let fetchBytes = 0;
  for (const entry of target.entries) {
    if (entry.kind !== 'file') continue;
    if (reusable.has(entry.sha256!)) reusedBytes += entry.size;
    else fetchBytes += entry.size;
  }
  return { from: kept, reusable, reusedBytes, fetchBytes };
}

/** The kept version sharing the most bytes with `target`, when it shares at least `minReusedShare` of them. */
export function planDelta(target: CheckedTree, kept: readonly KeptTree[], minReusedShare: number = limits.minReusedShare): DeltaPlan | undefined {
  let best: DeltaPlan | undefined;
  for (const candidate of kept) {
    if (candidate.version === target.version) continue;
    const plan = planFrom(target, candidate);
    if (!best || plan.reusedBytes > best.reusedBytes) best = plan;
  }
  if (!best) return undefined;
  const total = best.reusedBytes + best.fetchBytes;
  return total > 0 && best.reusedBytes >= minReusedShare * total ? best : undefined;
}
