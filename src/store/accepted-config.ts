// SPEC host-layout.md#the-accepted-config: `<state_dir>/config.accepted` holds the
// digest of the last config text the full loader (TOML parser + schema) accepted
// under the state lock. `tide status`, which starts without the parser and zod,
// takes its fast path only for a text whose digest matches: a text that passed the
// same rules. Any other text (edited since, or never accepted) goes to the full
// loader, which refuses a typo as every other command does.
//
// The file is one line, compared byte for byte with what the reader computes, so
// it needs no schema: anything else in it (damaged, old, hand-edited) only means
// "not proven", and the full loader decides.
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

export function wasAccepted(stateDir: string, text: string): boolean {
  try {
    return readFileSync(acceptedConfigFile(stateDir), 'utf8') === `${acceptedConfigDigest(text)}\n`;
  } catch {
    return false;
  }
}

/** Called under the state lock by every host command, after the full loader accepted the text. */
export function recordAcceptedConfig(stateDir: string, digest: string): void {
  const line = `${digest}\n`;
  try {
    if (readFileSync(acceptedConfigFile(stateDir), 'utf8') === line) return;
  } catch {
    // not there yet
  }
  writeFileAtomic(acceptedConfigFile(stateDir), line);
}
