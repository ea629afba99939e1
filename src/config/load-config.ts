import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { configSchema, type RawConfig } from './schema.js';
import { dottedName, unknownKeys } from './unknown-keys.js';
import { lineOfKey } from './key-lines.js';
import { refuseWrongStageReferences } from './stage-references.js';
import { acceptedConfigDigest } from '../store/accepted-config.js';
import { TideError } from '../errors.js';

// In a module of its own so that `tide status` finds the config without loading the parser.
export { configPathFrom, defaultConfigPath } from './config-path.js';

export interface Config extends RawConfig {
  /** Where the config was read from; relative key paths resolve against its folder. */
  configPath: string;
  health: RawConfig['health'] & { start: number };
  /** SPEC host-layout.md#the-accepted-config: the digest of the bytes that passed, for `tide status`. */
  acceptedDigest: string;
}

export function loadConfig(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new TideError('config', `cannot read the config: ${(err as NodeJS.ErrnoException).code ?? err}`, { file: path });
  }
  return parseConfig(text, path);
}

export function parseConfig(text: string, path: string): Config {
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (err) {
    const message = (err as Error).message.split('\n')[0];
    // smol-toml's TomlError says where: name the line so the operator need not hunt for it.
    const { line, column } = err as { line?: number; column?: number };
    const at = line !== undefined ? ` at line ${line}${column !== undefined ? `, column ${column}` : ''}` : '';
    throw new TideError('config', `not valid TOML${at}: ${message}`, { file: path });
  }
  refuseUnknownKeys(raw, text, path);
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path.join('.') || '(top level)';
    // zod says "Invalid input: expected string, received undefined" for a key left out.
    const missing = issue.code === 'invalid_type' && /received undefined$/.test(issue.message);
    throw new TideError('config', `${key}: ${missing ? 'required, but missing' : issue.message}`, { file: path });
  }
  const config = parsed.data;
  if (config.service.restart && config.service.unit) {
    throw new TideError('config', 'service: set either restart or unit, not both', { file: path });
  }
  refuseWrongStageReferences(config, text, path);
  return {
    ...config,
    configPath: path,
    acceptedDigest: acceptedConfigDigest(text),
    health: { ...config.health, start: config.health.start ?? config.health.timeout },
  };
}

/** SPEC config.md#config-strictness: `treshold: unknown key (line 7); did you mean threshold?` */
function refuseUnknownKeys(raw: unknown, text: string, path: string): void {
  const found = unknownKeys(raw, configSchema).map((unknown) => ({ ...unknown, line: lineOfKey(text, unknown.path) }));
  if (found.length === 0) return;
  // The first one written: the one the operator meets first reading the file.
  found.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
  const first = found[0]!;
  const kind = first.variant ? `unknown ${first.kind} for ${first.variant}` : `unknown ${first.kind}`;
  const line = first.line !== undefined ? ` (line ${first.line})` : '';
  const hint = first.suggestion !== undefined ? `; did you mean ${first.suggestion}?` : '';
  const more = found.length > 1 ? ` (and ${found.length - 1} more unknown key${found.length > 2 ? 's' : ''})` : '';
  throw new TideError('config', `${dottedName(first.path)}: ${kind}${line}${hint}${more}`, { file: path });
}

/** The argv that restarts the service, or undefined when the config names none. */
export function restartArgv(config: Config): string[] | undefined {
  if (config.service.restart) return config.service.restart;
  if (config.service.unit) return ['systemctl', 'restart', config.service.unit];
  return undefined;
}
