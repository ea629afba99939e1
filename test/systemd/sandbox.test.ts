// test-needs: systemd
// The services' seccomp filter, capability set and NoNewPrivileges, applied for
// real (without systemd) to Node doing what tide does: the hardening must not
// break the updater it protects. run-filtered.py loads the unit's filter.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { checkout, readUnit, run, shippedServices, type RunResult } from './unit-files.js';

const unitDir = join(checkout, 'systemd');
const filterScript = join(checkout, 'test', 'systemd', 'run-filtered.py');

/** setpriv + run-filtered.py arguments that reproduce a service's sandbox for one process. */
function sandboxArgv(service: string): string[] {
  const section = readUnit(unitDir, service).get('Service')!;
  const filter = (section.get('SystemCallFilter') ?? []).flatMap((line) => {
    const deny = line.startsWith('~');
    return line.replace(/^~/, '').split(/\s+/).flatMap((set) => [deny ? '--deny' : '--allow', set]);
  });
  assert.ok(filter.length > 0, `${service} has no SystemCallFilter=`);
  assert.is(section.get('SystemCallErrorNumber')?.at(-1), 'EPERM');
  const caps = (section.get('CapabilityBoundingSet')?.at(-1) ?? '').split(/\s+/).filter(Boolean);
  const bounding = ['-all', ...caps.map((cap) => `+${cap.replace(/^CAP_/, '').toLowerCase()}`)].join(',');
  const nnp = section.get('NoNewPrivileges')?.at(-1) === 'yes' ? ['--no-new-privs'] : [];
  return ['setpriv', ...nnp, `--bounding-set=${bounding}`, '--inh-caps=-all', 'python3', filterScript, ...filter, '--'];
}

function runSandboxed(service: string, script: string, args: string[]): RunResult {
  const [command, ...rest] = sandboxArgv(service);
  return run(command!, [...rest, process.execPath, '--input-type=module', '-e', script, ...args]);
}

// What tide does in the units: read the config, write state atomically, chown a
// bundle file to the owner, resolve and fetch over HTTP, run systemctl.
const updaterWork = `
import { createServer } from 'node:http';
import { chownSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { lookup } from 'node:dns/promises';
const [dist, example, dir] = process.argv.slice(1);
const { loadConfig } = await import(dist + '/config/load-config.js');
const { writeJsonAtomic } = await import(dist + '/store/atomic.js');
const app = loadConfig(example).app;
writeJsonAtomic(dir + '/state.json', { app });
chownSync(dir + '/state.json', 1, 1);
const server = createServer((req, res) => res.end('healthy')).listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const body = await (await fetch('http://localhost:' + server.address().port + '/')).text();
server.close();
const address = (await lookup('localhost')).address;
const systemctl = execFileSync('systemctl', ['--version']).toString().split(' ')[0];
console.log(JSON.stringify({ app, owner: statSync(dir + '/state.json').uid, body, address, systemctl }));
`;

test('Node does the updater work inside each service sandbox', () => {
  for (const service of shippedServices) {
    const work = tempDir();
    try {
      const result = runSandboxed(service, updaterWork, [
        join(checkout, 'dist', 'src'), join(unitDir, 'tide.toml.example'), work.path,
      ]);
      assert.is(result.status, 0, `${service}: ${result.stderr}`);
      const seen = JSON.parse(result.stdout.trim().split('\n').at(-1)!);
      assert.equal(seen, { app: 'demo', owner: 1, body: 'healthy', address: '127.0.0.1', systemctl: 'systemd' });
    } finally {
      work.cleanup();
    }
  }
});

test('the sandbox is really applied: a refused call fails with EPERM', () => {
  // setpriority is in @resources, which the units deny; root may call it outside.
  const renice = `import { setPriority } from 'node:os';
    try { setPriority(0, 5); console.log('allowed'); } catch (err) { console.log(err.code ?? err.message); }`;
  const outside = run(process.execPath, ['--input-type=module', '-e', renice]);
  assert.is(outside.stdout.trim(), 'allowed');
  for (const service of shippedServices) {
    const inside = runSandboxed(service, renice, []);
    assert.is(inside.status, 0, inside.stderr);
    assert.match(inside.stdout.trim(), /EPERM|ERR_SYSTEM_ERROR/, service);
  }
});

test.run();
