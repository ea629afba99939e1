// What `tide status` needs of the config (app, channel, state_dir), read without
// loading the TOML parser and zod: an operator's first command must start about as
// fast as Node itself (the full loader costs ~2.8x `node -e 0`; docs/benchmarks.md).
// SPEC config.md#config-strictness: status applies the same rules as every command,
// so the fast path is taken only for a text proven to have passed them: one whose
// digest the full loader recorded in the state dir (store/accepted-config.ts). And
// only the plain form is read here — `key = "string"` or `key = 'string'` lines
// before the first table. Anything else (an edited or never-accepted text, a
// missing, repeated or unusual key, a multi-line string) goes to the full loader,
// which then reports exactly what it always reports.
import { readFileSync } from 'node:fs';
import { TideError } from '../errors.js';
import { wasAccepted } from '../store/accepted-config.js';

export interface StatusConfig {
  app: string;
  channel: string;
  state_dir: string;
}

type StatusKey = keyof StatusConfig;

const statusKeys = new Set<string>(['app', 'channel', 'state_dir']);
// SPEC config.md#top-level-keys: the same rules as src/config/schema.ts.
const name = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const keyLine = /^([A-Za-z0-9_-]+)\s*=\s*(.*)$/;
const basicString = /^"((?:[^"\\]|\\.)*)"\s*(?:#.*)?$/;
const literalString = /^'([^']*)'\s*(?:#.*)?$/;

/** A one-line string value, or undefined when it is not one this reader is sure of. */
function stringValue(raw: string): string | undefined {
  const literal = literalString.exec(raw);
  if (literal) return literal[1];
  const basic = basicString.exec(raw);
  if (!basic) return undefined;
  try {
    // TOML's basic-string escapes are JSON's, except \e, \x and \U: those fall back.
    return JSON.parse(`"${basic[1]}"`) as string;
  } catch {
    return undefined;
  }
}

/** The three keys in their plain form, or undefined when the full loader must decide. */
export function peekStatusConfig(text: string): StatusConfig | undefined {
  const found: Partial<Record<StatusKey, string>> = {};
  for (const line of text.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed.startsWith('[')) break;
    if (trimmed.includes('"""') || trimmed.includes("'''")) return undefined;
    const match = keyLine.exec(trimmed);
    if (!match || !statusKeys.has(match[1]!)) continue;
    const key = match[1] as StatusKey;
    const value = stringValue(match[2]!);
    if (value === undefined || found[key] !== undefined) return undefined;
    found[key] = value;
  }
  const { app, channel = 'stable', state_dir: stateDir } = found;
  if (app === undefined || stateDir === undefined || !name.test(app) || !name.test(channel) || !stateDir.startsWith('/')) return undefined;
  return { app, channel, state_dir: stateDir };
}

/** SPEC config.md#where-the-config-is: the config `tide status` reads, by the same path rules as every command. */
export async function loadStatusConfig(path: string): Promise<StatusConfig> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new TideError('config', `cannot read the config: ${(err as NodeJS.ErrnoException).code ?? err}`, { file: path });
  }
  const peeked = peekStatusConfig(text);
  if (peeked && wasAccepted(peeked.state_dir, text)) return peeked;
  const { parseConfig } = await import('../config/load-config.js');
  return parseConfig(text, path);
}
