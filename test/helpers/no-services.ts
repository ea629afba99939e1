// Preloaded (node --import) into the test files that scripts/run-tests.mjs runs again
// with the clock moved. Those are the files that declare no `// test-needs:` line, so
// they must need no service: this makes a file that still starts one fail loudly with
// the line to add, instead of passing under a clock it was never run with.
import childProcess, { type SpawnOptions } from 'node:child_process';
import net from 'node:net';
import { syncBuiltinESMExports } from 'node:module';
import { basename } from 'node:path';

/** Programs that are services (or drive them); a file that runs one declares it. */
const servicePrograms: Record<string, string> = {
  nginx: 'nginx',
  podman: 'podman',
  systemctl: 'systemd',
  'systemd-run': 'systemd',
  'systemd-analyze': 'systemd',
  'systemd-nspawn': 'systemd',
};

function undeclared(what: string, need: string): Error {
  return new Error(`this test file ${what} but declares no service: add "// test-needs: ${need}" to its header`);
}

function guardProgram(file: unknown): void {
  const need = typeof file === 'string' ? servicePrograms[basename(file)] : undefined;
  if (need) throw undeclared(`runs ${basename(file as string)}`, need);
}

const original = {
  spawn: childProcess.spawn,
  spawnSync: childProcess.spawnSync,
  execFile: childProcess.execFile,
  execFileSync: childProcess.execFileSync,
};

net.Server.prototype.listen = function listen(): never {
  throw undeclared('listens on a socket', 'network');
} as net.Server['listen'];

type Spawn = (file: string, ...rest: unknown[]) => unknown;
const guarded = <T extends Spawn>(call: T): T => ((file: string, ...rest: unknown[]) => {
  guardProgram(file);
  return call(file, ...(rest as [SpawnOptions]));
}) as T;

childProcess.spawn = guarded(original.spawn as Spawn) as typeof childProcess.spawn;
childProcess.spawnSync = guarded(original.spawnSync as Spawn) as typeof childProcess.spawnSync;
childProcess.execFile = guarded(original.execFile as Spawn) as typeof childProcess.execFile;
childProcess.execFileSync = guarded(original.execFileSync as Spawn) as typeof childProcess.execFileSync;
// ES module imports of node:child_process see the patched functions only after this.
syncBuiltinESMExports();
