// The config's trusted keys, read from their files (relative paths resolve against the config's folder).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { TideError } from '../errors.js';
import type { Config } from '../config/load-config.js';
import { readTrustedKeys, type TrustedKey } from '../trust/trusted-keys.js';

export async function readTrustedKeysFromConfig(config: Config): Promise<TrustedKey[]> {
  const sources = config.keys.map((path) => {
    const file = resolve(dirname(config.configPath), path);
    try {
      return { source: file, armored: readFileSync(file, 'utf8') };
    } catch (err) {
      throw new TideError('config', `cannot read trusted key: ${(err as NodeJS.ErrnoException).code ?? err}`, { file });
    }
  });
  return readTrustedKeys(sources);
}
