import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { configSchema, type RawConfig } from './schema.js';
import { TideError } from '../errors.js';

// In a module of its own so that `tide status` finds the config without loading the parser.
export { configPathFrom, defaultConfigPath } from './config-path.js';

export interface Config extends RawConfig {
  /** Where the config was read from; relative key paths resolve against its folder. */
  configPath: string;
  health: RawConfig['health'] & { start: number };
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
  return {
    ...config,
    configPath: path,
    health: { ...config.health, start: config.health.start ?? config.health.timeout },
  };
}

/** The argv that restarts the service, or undefined when the config names none. */
export function restartArgv(config: Config): string[] | undefined {
  if (config.service.restart) return config.service.restart;
  if (config.service.unit) return ['systemctl', 'restart', config.service.unit];
  return undefined;
}
