// SPEC host-layout.md#the-state-directory: every path tide writes under <state_dir>.
import { join } from 'node:path';

export interface Layout {
  stateDir: string;
  versions: string;
  versionDir(version: string): string;
  /** The one atomic switch: <state_dir>/current -> versions/<v>. */
  current: string;
  previous: string;
  pending: string;
  state: string;
  /** Half-extracted bundles; anything here after a crash is garbage. */
  staging: string;
  /** Verified artifacts per version; image archives are kept for `tide recover`. */
  artifactsDir(version: string): string;
  /** Partial downloads, resumable across runs. */
  downloads: string;
  /** SPEC trust.md#how-a-host-walks-the-chain: every root accepted after the config's, as root.<N>.json and .asc. */
  roots: string;
}

export function layoutFor(stateDir: string): Layout {
  return {
    stateDir,
    versions: join(stateDir, 'versions'),
    versionDir: (version) => join(stateDir, 'versions', version),
    current: join(stateDir, 'current'),
    previous: join(stateDir, 'previous'),
    pending: join(stateDir, 'pending.json'),
    state: join(stateDir, 'state.json'),
    staging: join(stateDir, 'staging'),
    artifactsDir: (version) => join(stateDir, 'artifacts', version),
    downloads: join(stateDir, 'downloads'),
    roots: join(stateDir, 'roots'),
  };
}
