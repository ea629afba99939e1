// How the installed `tide` runs node: the CLI entry's own
// "#!/usr/bin/env -S [NAME=VALUE...] node [flags]" line, which scripts/install.sh's
// wrapper copies. Every process the bench measures starts that way, as on a host.
import { readFileSync } from 'node:fs';
import { tideBin } from '../lib/tide-bin.js';

const words = (/^#!\/usr\/bin\/env -S (.*)$/.exec(readFileSync(tideBin, 'utf8').split('\n', 1)[0] ?? '')?.[1] ?? 'node').trim().split(/\s+/);
const nodeAt = words.indexOf('node');

/** What the shebang puts in the environment (UV_THREADPOOL_SIZE, ...). */
export const launcherEnv: Record<string, string> = Object.fromEntries(words.slice(0, nodeAt).map((word) => word.split(/=(.*)/s).slice(0, 2)));
export const launcherFlags: string[] = words.slice(nodeAt + 1);

/** argv for the installed command's node: its flags, then `script` and `args`. */
export const asLaunched = (script: string, args: string[] = []): string[] => [...launcherFlags, script, ...args];
/** The environment of the installed command. */
export const launchedEnv = (): NodeJS.ProcessEnv => ({ ...process.env, ...launcherEnv });
