// SPEC formats.md#the-tree-artifact: staging from the tree or from the bundle must give the
// same tree. A bundle staged for a release that has a tree is compared with tree.json as it
// is extracted: every header the policy accepted (what the writer then writes, exactly) and
// every parent directory it implies, against the tree's entry of that path, before the entry
// reaches the writer. Once the archive ends, every path of the tree must have been met. This
// replaces a walk of the staged directory after the last byte (35–100 ms on the critical
// path of a full install, docs/benchmarks.md#delta-updates). Pure: no I/O.
import { posix } from 'node:path';
import { TideError } from '../errors.js';
import type { CheckedEntry } from './policy.js';
import type { EntrySink } from './read-archive.js';
import { describeEntry, entriesByPath, matchesEntry } from './check-staged-tree.js';
import type { CheckedTree, CheckedTreeEntry } from './tree-document.js';

const IMPLIED_DIRECTORY: CheckedEntry = { path: '', kind: 'directory', mode: 0o755, size: 0 };

const disagreement = (message: string, entry: string): TideError =>
  new TideError('bundle-policy', `tree.json disagrees with the bundle: ${message}`, { entry });

/** An EntrySink in front of `sink` that refuses, at the first entry that differs, a bundle whose tree is not `tree`. */
export class TreeAgreement implements EntrySink {
  private readonly wanted: Map<string, CheckedTreeEntry>;
  /** The tree's entries met so far: a table of references, the tree's own entries. */
  private readonly met = new Set<CheckedTreeEntry>();

  constructor(tree: CheckedTree, private readonly sink: EntrySink) {
    this.wanted = entriesByPath(tree);
  }

  begin(entry: CheckedEntry): void {
    if (entry.path !== '.') {
      this.impliedParents(entry.path);
      this.meet(entry.path, entry);
    }
    this.sink.begin(entry);
  }

  data(chunk: Buffer): void {
    this.sink.data(chunk);
  }

  end(entry: CheckedEntry): void {
    this.sink.end(entry);
  }

  ready(): Promise<void> | undefined {
    return this.sink.ready?.();
  }

  /** Once the archive ended: throws when the tree has a path the bundle did not. */
  finish(): void {
    if (this.met.size === this.wanted.size) return;
    for (const [path, entry] of this.wanted) {
      if (!this.met.has(entry)) throw disagreement(`expected ${path} to be ${describeEntry(entry)} as tree.json says, found nothing`, path);
    }
  }

  // The writer makes an entry's missing parents 0755 directories, as the tree's implied ones
  // are; met from the root down, so a refusal names the outermost parent that differs.
  private impliedParents(path: string): void {
    const unmet: string[] = [];
    for (let dir = posix.dirname(path); dir !== '.'; dir = posix.dirname(dir)) {
      const entry = this.wanted.get(dir);
      if (entry !== undefined && this.met.has(entry)) break;
      unmet.push(dir);
    }
    for (const dir of unmet.reverse()) this.meet(dir, IMPLIED_DIRECTORY);
  }

  private meet(path: string, found: CheckedEntry): void {
    const entry = this.wanted.get(path);
    if (entry === undefined) throw disagreement(`expected only what tree.json lists, found ${path} too`, path);
    // A directory entry may follow the files that implied it (the policy allows it): met once.
    if (this.met.has(entry) && found.kind === 'directory' && entry.kind === 'directory') return;
    if (!matchesEntry(entry, found)) {
      throw disagreement(`expected ${path} to be ${describeEntry(entry)} as tree.json says, found ${describeEntry(found)}`, path);
    }
    this.met.add(entry);
  }
}
