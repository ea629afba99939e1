// `tide status` reads app, channel and state_dir without the TOML parser and zod;
// anything unusual goes to the full loader, which reports what it always reports.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadStatusConfig, peekStatusConfig } from '../../src/cli/status-config.js';
import { rejectsWithCode } from '../helpers/assert-error.js';
import { tempDir } from '../helpers/tmp.js';

const bin = new URL('../../src/cli/bin.js', import.meta.url).pathname;
const rest = '\nmirrors = ["file:///srv/mirror"]\nkeys = ["k.asc"]\n';

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
    writeFileSync(path, `app = "demo"\nstate_dir = "relative"${rest}`);
    const err = await rejectsWithCode(loadStatusConfig(path), 'config');
    assert.match(err.message, /state_dir/);
    await rejectsWithCode(loadStatusConfig(join(tmp.path, 'missing.toml')), 'config');
  } finally {
    tmp.cleanup();
  }
});

test('`tide status` loads neither the TOML parser, zod, got nor openpgp', () => {
  const tmp = tempDir();
  try {
    const config = join(tmp.path, 'tide.toml');
    writeFileSync(config, `app = "demo"\nstate_dir = ${JSON.stringify(join(tmp.path, 'state'))}${rest}`);
    const hooks = join(tmp.path, 'hooks.mjs');
    writeFileSync(hooks, `export async function resolve(spec, ctx, next) { const r = await next(spec, ctx); process.stderr.write('IMPORT ' + r.url + '\\n'); return r; }\n`);
    const register = join(tmp.path, 'register.mjs');
    writeFileSync(register, `import { register } from 'node:module'; register(${JSON.stringify('file://' + hooks)});\n`);
    const run = spawnSync(process.execPath, ['--import', register, bin, '--config', config, 'status', '--json'], { encoding: 'utf8' });
    assert.is(run.status, 0, run.stderr);
    assert.is(JSON.parse(run.stdout).app, 'demo');
    const imports = run.stderr.split('\n').filter((line) => line.startsWith('IMPORT '));
    assert.ok(imports.some((line) => line.includes('status-config.js')), 'the hook saw the imports');
    for (const heavy of ['smol-toml', 'zod', 'got', 'openpgp']) {
      assert.not.ok(imports.some((line) => line.includes(`/node_modules/${heavy}/`)), `${heavy} was loaded`);
    }
  } finally {
    tmp.cleanup();
  }
});

test.run();
