// Where the config lives; no parsing here, so any command can ask cheaply.

export const defaultConfigPath = '/etc/tide/tide.toml';

/** SPEC config.md#where-the-config-is: --config PATH, then TIDE_CONFIG, then /etc/tide/tide.toml. */
export function configPathFrom(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env.TIDE_CONFIG ?? defaultConfigPath;
}
