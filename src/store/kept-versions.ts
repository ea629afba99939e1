// SPEC host-layout.md#kept-versions: which installed versions survive a prune.
// `current` and `previous` always; beyond them the `keep` newest good versions,
// in semver order — never a version marked bad here, which a rollback must not
// return to and an unattended update skips anyway. Pure: names in, names out.
import semver from 'semver';

export interface KeptVersionsInput {
  current: string | null;
  previous: string | null;
  /** The names under versions/. */
  installed: readonly string[];
  /** state.json's bad list. */
  bad: readonly string[];
  /** The config's `keep`. */
  keep: number;
}

/** Newest first; a name that is not semver (none should be) sorts after every version. */
function newestFirst(a: string, b: string): number {
  const va = semver.valid(a), vb = semver.valid(b);
  if (va && vb) return semver.rcompare(va, vb);
  if (va || vb) return va ? -1 : 1;
  return b.localeCompare(a);
}

export function keptVersions(input: KeptVersionsInput): Set<string> {
  const always = [input.current, input.previous].filter((v): v is string => v !== null);
  const bad = new Set(input.bad);
  const extras = input.installed
    .filter((v) => !always.includes(v) && !bad.has(v))
    .sort(newestFirst)
    .slice(0, Math.max(0, input.keep));
  return new Set([...always, ...extras]);
}
