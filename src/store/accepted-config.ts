// SPEC host-layout.md#the-accepted-config: `<state_dir>/config.accepted` holds the
// digests of the last config texts the full loader (TOML parser + schema) accepted
// under the state lock. `tide status`, which starts without the parser and zod,
// takes its fast path only for a text whose digest matches: a text that passed the
// same rules. Any other text (edited since, or never accepted) goes to the full
// loader, which refuses a typo as every other command does.
//
// The file is one digest a line, each compared whole with what the reader computes,
// so it needs no schema: anything else in it (damaged, hand-edited) only means "not
// proven", and the full loader decides.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic.js';

export const acceptedConfigFile = (stateDir: string): string => join(stateDir, 'config.accepted');

/** The rules are those of this tide: a newer one may refuse what an older one accepted. */
function tideVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** sha256 over the tide version and the config's exact bytes. */
export function acceptedConfigDigest(text: string): string {
  return createHash('sha256').update(`tide ${tideVersion()} config\n`).update(text).digest('hex');
}

// Two configs may share a state dir for a while (a copy with other mirrors while
// testing them): the last few accepted texts all stay proven.
const keptDigests = 8;

/** The digests in the file: 64 hex digits a line; any other line proves nothing. */
function recordedDigests(stateDir: string): string[] {
  try {
    return readFileSync(acceptedConfigFile(stateDir), 'utf8').split('\n').filter((line) => /^[0-9a-f]{64}$/.test(line));
  } catch {
    return [];
  }
}

export function wasAccepted(stateDir: string, text: string): boolean {
  return recordedDigests(stateDir).includes(acceptedConfigDigest(text));
}

/** Called under the state lock by every host command, after the full loader accepted the text. */
export function recordAcceptedConfig(stateDir: string, digest: string): void {
  const recorded = recordedDigests(stateDir);
  if (recorded.includes(digest)) return;
  writeFileAtomic(acceptedConfigFile(stateDir), [digest, ...recorded].slice(0, keptDigests).map((d) => `${d}\n`).join(''));
}
