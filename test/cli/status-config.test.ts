// `tide status` reads app, channel and state_dir without the TOML parser and zod,
// but only from a text the full loader accepted (its digest is in the state dir);
// anything else goes to the full loader, which refuses what every command refuses.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadStatusConfig, peekStatusConfig } from '../../src/cli/status-config.js';
import { rejectsWithCode } from '../helpers/assert-error.js';
import { makeKey } from '../helpers/keys.js';
import { tempDir } from '../helpers/tmp.js';

const bin = new URL('../../src/cli/bin.js', import.meta.url).pathname;
const rest = '\nmirrors = ["file:///srv/mirror"]\nkeys = ["k.asc"]\n';
const probe = '\n[[health.probe]]\ntype = "command"\nargv = ["true"]\n';

test('reads the three keys in their plain form, with either quote and a comment', () => {
  const text = `# host config\napp = "demo"\nchannel='beta' # testers\nstate_dir = "/var/lib/tide/d\\u0065mo"${rest}[service]\nunit = "demo.service"\n`;
  assert.equal(peekStatusConfig(text), { app: 'demo', channel: 'beta', state_dir: '/var/lib/tide/demo' });
});

test('takes the default channel, as the schema does', () => {
  assert.equal(peekStatusConfig(`app = "demo"\nstate_dir = "/var/lib/tide"${rest}`), { app: 'demo', channel: 'stable', state_dir: '/var/lib/tide' });
});

test('leaves every unusual or invalid form to the full loader', () => {
  const unusual = [
    `app = "demo"${rest}`, // no state_dir
    `app = "demo"\nstate_dir = "/a"\nstate_dir = "/b"${rest}`, // twice
    `app = "demo"\nstate_dir = "relative"${rest}`, // not absolute
    `app = "de mo"\nstate_dir = "/a"${rest}`, // not a name
    `app = "demo"\nstate_dir = "/a\\e"${rest}`, // an escape JSON does not know
    `app = """demo"""\nstate_dir = "/a"${rest}`, // a multi-line string
    `app = "demo"\n[service]\nstate_dir = "/a"\n`, // only inside a table
  ];
  for (const text of unusual) assert.is(peekStatusConfig(text), undefined, text);
});

test('a config the full loader refuses is refused the same way', async () => {
  const tmp = tempDir();
  try {
    const path = join(tmp.path, 'tide.toml');
    writeFileSync(path, `app = "demo"\nstate_dir = "relative"${rest}${probe}`);
    const err = await rejectsWithCode(loadStatusConfig(path), 'config');
    assert.match(err.message, /state_dir/);
    await rejectsWithCode(loadStatusConfig(join(tmp.path, 'missing.toml')), 'config');
  } finally {
    tmp.cleanup();
  }
});

/** The real binary, with a loader hook that names every module it imports on stderr. */
function statusRun(dir: string, config: string) {
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(hooks, `export async function resolve(spec, ctx, next) { const r = await next(spec, ctx); process.stderr.write('IMPORT ' + r.url + '\\n'); return r; }\n`);
  const register = join(dir, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module'; register(${JSON.stringify('file://' + hooks)});\n`);
  const run = spawnSync(process.execPath, ['--import', register, bin, '--config', config, 'status', '--json'], { encoding: 'utf8' });
  const imports = run.stderr.split('\n').filter((line) => line.startsWith('IMPORT '));
  const loaded = (name: string) => imports.some((line) => line.includes(`/node_modules/${name}/`));
  return { code: run.status, stdout: run.stdout, errors: run.stderr.split('\n').filter((l) => l && !l.startsWith('IMPORT ')), imports, loaded };
}

/** A config tide verify accepts (it has no mirror to ask: nothing is pending). */
async function acceptedHost(dir: string): Promise<string> {
  writeFileSync(join(dir, 'k.asc'), (await makeKey('release')).publicArmored);
  const config = join(dir, 'tide.toml');
  writeFileSync(config, `app = "demo"\nstate_dir = ${JSON.stringify(join(dir, 'state'))}${rest}${probe}`);
  const verify = spawnSync(process.execPath, [bin, '--config', config, 'verify'], { encoding: 'utf8' });
  assert.is(verify.status, 0, verify.stderr);
  return config;
}

test('a text the full loader accepted is read without the TOML parser, zod, got or openpgp', async () => {
  const tmp = tempDir();
  try {
    const config = await acceptedHost(tmp.path);
    assert.match(readFileSync(join(tmp.path, 'state', 'config.accepted'), 'utf8'), /^[0-9a-f]{64}\n$/);
    const run = statusRun(tmp.path, config);
    assert.is(run.code, 0, run.errors.join('\n'));
    assert.is(JSON.parse(run.stdout).app, 'demo');
    assert.ok(run.imports.some((line) => line.includes('status-config.js')), 'the hook saw the imports');
    for (const heavy of ['smol-toml', 'zod', 'got', 'openpgp']) assert.not.ok(run.loaded(heavy), `${heavy} was loaded`);
  } finally {
    tmp.cleanup();
  }
});

test('two configs that share a state dir both stay proven', async () => {
  const tmp = tempDir();
  try {
    const config = await acceptedHost(tmp.path);
    const other = join(tmp.path, 'other.toml');
    writeFileSync(other, readFileSync(config, 'utf8').replace('file:///srv/mirror', 'file:///srv/other-mirror'));
    assert.is(spawnSync(process.execPath, [bin, '--config', other, 'verify'], { encoding: 'utf8' }).status, 0);
    assert.is(readFileSync(join(tmp.path, 'state', 'config.accepted'), 'utf8').split('\n').filter(Boolean).length, 2);
    for (const path of [config, other]) {
      const run = statusRun(tmp.path, path);
      assert.is(run.code, 0, run.errors.join('\n'));
      assert.not.ok(run.loaded('zod'), `${path} was read by the full loader`);
    }
  } finally {
    tmp.cleanup();
  }
});

test('a text never accepted, or edited since, goes through the full loader: a typo is exit 2', async () => {
  const tmp = tempDir();
  try {
    const config = await acceptedHost(tmp.path);
    const accepted = readFileSync(config, 'utf8');
    // Valid, but not the accepted bytes: status is right, and slower.
    writeFileSync(config, accepted + '\n# a comment\n');
    const edited = statusRun(tmp.path, config);
    assert.is(edited.code, 0, edited.errors.join('\n'));
    assert.ok(edited.loaded('zod') && edited.loaded('smol-toml'), 'the full loader ran');
    // A typo after the three keys the fast reader looks at.
    writeFileSync(config, accepted.replace('[[health.probe]]', '[[health.probes]]'));
    const typo = statusRun(tmp.path, config);
    assert.is(typo.code, 2);
    assert.equal(typo.errors, [`tide: config: health.probes: unknown table (line 6); did you mean health.probe? (file ${config})`]);
    assert.is(typo.stdout, '');
    // A damaged record proves nothing either.
    writeFileSync(config, accepted);
    writeFileSync(join(tmp.path, 'state', 'config.accepted'), 'garbage');
    const damaged = statusRun(tmp.path, config);
    assert.is(damaged.code, 0, damaged.errors.join('\n'));
    assert.ok(damaged.loaded('zod'), 'the full loader ran');
  } finally {
    tmp.cleanup();
  }
});

test.run();
