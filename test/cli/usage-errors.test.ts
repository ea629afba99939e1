// SPEC commands.md#exit-codes: usage and configuration errors (2) through the real binary,
// each one line naming the file and the key that is wrong.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tideBin, type TideRun } from '../helpers/host-fixture.js';
import { makeKey } from '../helpers/keys.js';
import { tempDir } from '../helpers/tmp.js';
import { assertRefused } from './refusal-checks.js';

const test = suite('usage and config errors');

function tide(args: string[], env: Record<string, string> = {}): Promise<TideRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [tideBin, ...args], { env: { ...process.env, TIDE_CONFIG: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** A valid config in a temp dir, with `change` applied to its text. */
async function configWith(dir: string, change: (text: string) => string = (t) => t): Promise<string> {
  writeFileSync(join(dir, 'release.pub.asc'), (await makeKey('release')).publicArmored);
  const path = join(dir, 'tide.toml');
  writeFileSync(path, change(`app = "demo"
channel = "stable"
state_dir = ${JSON.stringify(join(dir, 'state'))}
mirrors = ["http://127.0.0.1:9/demo"]
keys = ["release.pub.asc"]

[health]
timeout = "5s"
`));
  return path;
}

const cases: { name: string; change: (text: string) => string; message: RegExp }[] = [
  { name: 'a mirror that is not a URL tide reads', change: (t) => t.replace('http://127.0.0.1:9/demo', 'ftp://mirror.example/demo'), message: /^tide: config: mirrors\.0: a mirror must be an http:\/\/, https:\/\/ or file:\/\/ URL/ },
  { name: 'a missing app', change: (t) => t.replace('app = "demo"\n', ''), message: /^tide: config: app: required, but missing/ },
  { name: 'a relative state_dir', change: (t) => t.replace(/state_dir = .*/, 'state_dir = "var/tide"'), message: /^tide: config: state_dir: state_dir must be an absolute path/ },
  { name: 'a threshold above the number of keys', change: (t) => t.replace('keys = ["release.pub.asc"]', 'keys = ["release.pub.asc"]\nthreshold = 2'), message: /^tide: config: threshold: threshold is larger than the number of trusted keys/ },
  { name: 'a duration that is not one', change: (t) => t.replace('timeout = "5s"', 'timeout = "soon"'), message: /^tide: config: health\.timeout: not a duration: "soon"/ },
  { name: 'a size that is not one', change: (t) => t.replace('keys = ["release.pub.asc"]', 'keys = ["release.pub.asc"]\nmax_unpacked = "lots"'), message: /^tide: config: max_unpacked: not a size: "lots"/ },
  { name: 'text that is not TOML', change: (t) => t + '\n[[[broken\n', message: /^tide: config: not valid TOML at line 10, column \d+: / },
];

for (const c of cases) {
  test(`exits 2 for ${c.name}, naming the file and the key`, async () => {
    const tmp = tempDir('tide-config-');
    try {
      const path = await configWith(tmp.path, c.change);
      for (const command of ['check', 'update']) {
        const run = await tide(['--config', path, command]);
        assertRefused(run, { exit: 2, code: 'config', message: c.message, file: path });
      }
      assert.not.ok(existsSync(join(tmp.path, 'state')), 'nothing was created');
    } finally {
      tmp.cleanup();
    }
  });
}

test('exits 2 for a config file that is not there, naming it', async () => {
  const run = await tide(['--config', '/nonexistent/tide.toml', 'check']);
  assertRefused(run, { exit: 2, code: 'config', message: /cannot read the config: ENOENT/, file: '/nonexistent/tide.toml' });
});

test('TIDE_CONFIG names the config when --config is absent', async () => {
  const run = await tide(['check'], { TIDE_CONFIG: '/nonexistent/from-env.toml' });
  assertRefused(run, { exit: 2, code: 'config', message: /ENOENT/, file: '/nonexistent/from-env.toml' });
});

test('exits 2 for a trusted key file that is missing or not a key, naming it', async () => {
  const tmp = tempDir('tide-config-');
  try {
    const missing = await configWith(tmp.path, (t) => t.replace('"release.pub.asc"', '"absent.pub.asc"'));
    const run = await tide(['--config', missing, 'check']);
    assertRefused(run, { exit: 2, code: 'config', message: /cannot read trusted key: ENOENT/, file: join(tmp.path, 'absent.pub.asc') });
    writeFileSync(join(tmp.path, 'junk.asc'), 'not a key\n');
    const junk = await configWith(tmp.path, (t) => t.replace('"release.pub.asc"', '"junk.asc"'));
    const bad = await tide(['--config', junk, 'check']);
    assertRefused(bad, { exit: 2, code: 'config', message: /not an armored OpenPGP public key/, file: join(tmp.path, 'junk.asc') });
  } finally {
    tmp.cleanup();
  }
});

test('exits 2 for an unknown command or flag', async () => {
  const tmp = tempDir('tide-config-');
  try {
    const path = await configWith(tmp.path);
    const command = await tide(['--config', path, 'upgrade']);
    assertRefused(command, { exit: 2, code: 'usage', message: /unknown command "upgrade"/ });
    const flag = await tide(['--config', path, 'check', '--chanel', 'beta']);
    assertRefused(flag, { exit: 2, code: 'usage', message: /check: .*--chanel/ });
    const format = await tide(['--config', path, '--log-format', 'xml', 'status']);
    assertRefused(format, { exit: 2, code: 'usage', message: /--log-format must be text or json/ });
    const none = await tide([]);
    assert.is(none.code, 2);
    assert.match(none.stdout, /usage: tide <command>/);
  } finally {
    tmp.cleanup();
  }
});

test.run();
