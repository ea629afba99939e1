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
probes = "none"
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
  { name: 'text that is not TOML', change: (t) => t + '\n[[[broken\n', message: /^tide: config: not valid TOML at line 11, column \d+: / },
];

// SPEC config.md#config-strictness: one case per typo class, each with its exact line.
const probe = '\n[[health.probe]]\ntype = "http"\nurl = "http://127.0.0.1:9/"\n';
const withProbe = (t: string) => t.replace('probes = "none"\n', '') + probe;
const typos: { name: string; change: (text: string) => string; message: string }[] = [
  { name: 'a misspelt top-level key', change: (t) => withProbe(t.replace('keys = ["release.pub.asc"]', 'keys = ["release.pub.asc"]\ntreshold = 2')), message: 'treshold: unknown key (line 6); did you mean threshold?' },
  { name: 'a misspelt table', change: (t) => withProbe(t.replace('[health]', '[helth]')), message: 'helth: unknown table (line 7); did you mean health?' },
  { name: 'a misspelt array of tables', change: (t) => withProbe(t).replace('[[health.probe]]', '[[health.probes]]'), message: 'health.probes: unknown table (line 10); did you mean health.probe?' },
  { name: 'a misspelt key of an http probe', change: (t) => withProbe(t) + 'exepct = 200\n', message: 'health.probe.exepct: unknown key for type = "http" (line 13); did you mean health.probe.expect?' },
  { name: 'a misspelt key of a container', change: (t) => withProbe(t) + '\n[[container]]\nname = "web"\nimage = "localhost/web"\ncomand = ["x"]\n', message: 'container.comand: unknown key (line 17); did you mean container.command?' },
  { name: 'a misspelt key of an inline link', change: (t) => withProbe(t.replace('keys = ["release.pub.asc"]', 'keys = ["release.pub.asc"]\nlink = [{ path = "/usr/local/bin/demo", traget = "bin/demo" }]')), message: 'link.traget: unknown key (line 6); did you mean link.target?' },
  { name: 'a misspelt key of [service]', change: (t) => withProbe(t) + '\n[service]\nunit = "demo.service"\nrestrat = ["x"]\n', message: 'service.restrat: unknown key (line 16); did you mean service.restart?' },
  { name: 'a misspelt key of [podman]', change: (t) => withProbe(t) + '\n[podman]\nargs = ["podman"]\n', message: 'podman.args: unknown key (line 15); did you mean podman.argv?' },
  { name: 'a misspelt key of [schedule]', change: (t) => withProbe(t) + '\n[schedule]\nwindows = "02:00-04:00"\n', message: 'schedule.windows: unknown key (line 15); did you mean schedule.window?' },
  { name: 'a misspelt key of [metrics]', change: (t) => withProbe(t) + '\n[metrics]\ntext_file = "x.prom"\n', message: 'metrics.text_file: unknown key (line 15); did you mean metrics.textfile?' },
  { name: 'a misspelt key of [report]', change: (t) => withProbe(t) + '\n[report]\nurl = "http://127.0.0.1:9/"\ntimout = "2s"\n', message: 'report.timout: unknown key (line 16); did you mean report.timeout?' },
];

for (const c of typos) {
  test(`exits 2 for ${c.name}, naming it, its line and the closest known key; status too`, async () => {
    const tmp = tempDir('tide-config-');
    try {
      const path = await configWith(tmp.path, c.change);
      for (const command of ['update', 'status']) {
        const run = await tide(['--config', path, command]);
        assert.is(run.stderr, `tide: config: ${c.message} (file ${path})\n`, command);
        assert.is(run.code, 2, command);
        assert.is(run.stdout, '', command);
      }
      assert.not.ok(existsSync(join(tmp.path, 'state')), 'nothing was created');
    } finally {
      tmp.cleanup();
    }
  });
}

test('every command that reads the config refuses a typo the same way', async () => {
  const tmp = tempDir('tide-config-');
  try {
    const path = await configWith(tmp.path, (t) => t.replace('[health]', '[helth]'));
    for (const command of ['check', 'update', 'verify', 'rollback', 'status', 'history', 'recover', 'daemon']) {
      const run = await tide(['--config', path, command]);
      assert.is(run.stderr, `tide: config: helth: unknown table (line 7); did you mean health? (file ${path})\n`, command);
      assert.is(run.code, 2, command);
    }
    assert.not.ok(existsSync(join(tmp.path, 'state')), 'nothing was created');
  } finally {
    tmp.cleanup();
  }
});

test('exits 2 for a config without probes unless it says probes = "none"', async () => {
  const tmp = tempDir('tide-config-');
  try {
    const none = await configWith(tmp.path, (t) => t.replace('probes = "none"\n', ''));
    for (const command of ['check', 'update', 'status']) {
      const run = await tide(['--config', none, command]);
      assertRefused(run, { exit: 2, code: 'config', message: /^tide: config: health\.probe: no \[\[health\.probe\]\] is configured.*probes = "none"/, file: none });
    }
    const missingHealth = await configWith(tmp.path, (t) => t.replace('[health]\ntimeout = "5s"\nprobes = "none"\n', ''));
    assertRefused(await tide(['--config', missingHealth, 'status']), { exit: 2, code: 'config', message: /health\.probe: no \[\[health\.probe\]\]/, file: missingHealth });
    const accepted = await configWith(tmp.path);
    const status = await tide(['--config', accepted, 'status']);
    assert.is(status.code, 0, status.stderr);
    assert.match(status.stdout, /^app: +demo$/m);
  } finally {
    tmp.cleanup();
  }
});

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
