// ExecStartPre= of tide's units (written by scripts/install.sh into paths.conf):
// inside the sandbox, check that every directory the config makes tide write is
// writable, before tide touches anything. ProtectSystem=strict leaves writable only
// the ReadWritePaths= that install.sh derived from the config when it ran; a config
// edited since (a new [[link]] directory, another state_dir) would otherwise fail
// halfway through a swap with EROFS. One line names the directory and what to run.
// A config that does not load passes here: tide itself reports it (exit 2).
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname } from 'node:path';

const configPath = process.env.TIDE_CONFIG || '/etc/tide/tide.toml';
const { loadConfig } = await import(new URL('../dist/src/config/load-config.js', import.meta.url).href);
let config;
try {
  config = loadConfig(configPath);
} catch {
  process.exit(0);
}
const wanted = [
  [config.state_dir, 'state_dir'],
  ...config.link.map((link) => [dirname(link.path), `[[link]] path ${link.path}`]),
  ...(config.metrics.textfile ? [[dirname(config.metrics.textfile), `[metrics] textfile ${config.metrics.textfile}`]] : []),
];
for (const [dir, why] of wanted) {
  // A directory tide would create: what matters is whether its parent may be written.
  let existing = dir;
  while (!existsSync(existing) && existing !== dirname(existing)) existing = dirname(existing);
  try {
    accessSync(existing, constants.W_OK);
  } catch (err) {
    console.error(`tide may not write ${dir} (${why} in ${configPath}): ${err.code}; run scripts/install.sh again, it adds the config's directories to ReadWritePaths=`);
    process.exit(1);
  }
}
