// Node's flags as the installed `tide` passes them: the CLI entry's own
// "#!/usr/bin/env -S node <flags>" line, which scripts/install.sh's wrapper copies.
// Every process the bench measures starts with them, as on a host.
import { readFileSync } from 'node:fs';
import { tideBin } from '../../test/helpers/host-fixture.js';

const shebang = readFileSync(tideBin, 'utf8').split('\n', 1)[0] ?? '';

export const launcherFlags: string[] = (/^#!\/usr\/bin\/env -S node(.*)$/.exec(shebang)?.[1] ?? '').trim().split(/\s+/).filter(Boolean);

/** argv for the installed command's node: its flags, then `script` and `args`. */
export const asLaunched = (script: string, args: string[] = []): string[] => [...launcherFlags, script, ...args];
