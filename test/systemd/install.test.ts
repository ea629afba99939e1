// test-needs: systemd
// scripts/install.sh run for real into a DESTDIR: idempotent, never overwrites
// an operator's config, derives the sandbox paths and app ordering from it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import {
  copyCheckout, exposureOf, listOf, readUnit, runInstall, run, shippedServices, shippedUnits, snapshotTree,
  stageForAnalyze, verifyUnit,
} from './unit-files.js';

const unitsIn = (root: string): string => join(root, 'etc', 'systemd', 'system');
const modeOf = (path: string): string => (statSync(path).mode & 0o7777).toString(8);

function installOk(from: string, root: string, args: string[] = []): string {
  const result = runInstall(from, root, args);
  assert.is(result.status, 0, `install.sh exited ${result.status}: ${result.stderr}`);
  return result.stdout;
}

test('install.sh twice into a DESTDIR leaves exactly the same files', () => {
  const work = tempDir();
  try {
    const from = copyCheckout(join(work.path, 'checkout'));
    const root = join(work.path, 'root');
    installOk(from, root, ['--app-unit', 'demo.service']);
    const first = snapshotTree(root);
    const again = installOk(from, root, ['--app-unit', 'demo.service']);
    assert.equal(snapshotTree(root), first);
    assert.not.match(again, /^installed /m, 'the second run rewrote something');
    // tide-verify is enabled for the next boot, never started by install.sh (it would settle a pending update).
    assert.match(again, /^ {2}systemctl enable tide-verify\.service$/m);
    assert.match(again, /^ {2}systemctl enable --now tide-update\.timer$/m);
    assert.not.match(again, /enable --now .*tide-verify/);
    for (const name of shippedUnits) assert.ok(first[`etc/systemd/system/${name}`], name);
    assert.match(first['usr/local/bin/tide'] ?? '', /^file 755 /);
    assert.match(first['etc/tide/keys'] ?? '', /^dir 755$/);
    assert.match(first['var/lib/tide'] ?? '', /^dir 755$/);
    assert.match(first['etc/tide/tide.toml'] ?? '', /^file 644 /);
  } finally {
    work.cleanup();
  }
});

test('never overwrites an edited config, and follows its paths in the sandbox drop-ins', () => {
  const work = tempDir();
  try {
    const from = copyCheckout(join(work.path, 'checkout'));
    const root = join(work.path, 'root');
    installOk(from, root);
    const config = join(root, 'etc', 'tide', 'tide.toml');
    const edited = readFileSync(config, 'utf8')
      .replace('channel = "stable"', 'channel = "beta"')
      .replace('path = "/usr/local/bin/demo"', 'path = "/opt/demo/bin/demo"')
      .replace('# [metrics]\n# textfile = ', '[metrics]\ntextfile = ');
    writeFileSync(config, edited);
    const out = installOk(from, root);
    assert.is(readFileSync(config, 'utf8'), edited);
    assert.match(out, /kept .*tide\.toml/);
    // A [[link]] directory that does not exist yet is created: systemd skips a missing ReadWritePaths=.
    assert.ok(existsSync(join(root, 'opt/demo/bin')), 'the new link directory was not created');
    for (const service of shippedServices) {
      const rw = listOf(readUnit(unitsIn(root), service), 'Service', 'ReadWritePaths');
      assert.ok(rw.includes('/var/lib/tide'), `${service}: ${rw}`);
      assert.ok(rw.includes('-/var/lib/tide/demo'), `${service}: ${rw}`);
      assert.ok(rw.includes('-/opt/demo/bin'), `${service}: ${rw}`);
      assert.ok(rw.includes('-/var/lib/prometheus/node-exporter'), `${service}: ${rw}`);
      assert.not.ok(rw.includes('-/usr/local/bin'), `${service}: the old link dir stayed: ${rw}`);
    }
  } finally {
    work.cleanup();
  }
});

test('orders tide-verify after the app unit named in the config, with Wants/After only', () => {
  const work = tempDir();
  try {
    const from = copyCheckout(join(work.path, 'checkout'));
    const root = join(work.path, 'root');
    installOk(from, root); // the example config restarts demo.service
    const verify = readUnit(unitsIn(root), 'tide-verify.service');
    assert.ok(listOf(verify, 'Unit', 'Wants').includes('demo.service'));
    assert.ok(listOf(verify, 'Unit', 'After').includes('demo.service'));
    assert.equal(listOf(verify, 'Unit', 'Requires'), []);
    installOk(from, root, ['--app-unit', 'shop']);
    const again = readUnit(unitsIn(root), 'tide-verify.service');
    assert.ok(listOf(again, 'Unit', 'After').includes('shop.service'), 'a bare name gets .service');
    assert.not.ok(listOf(again, 'Unit', 'After').includes('demo.service'));
  } finally {
    work.cleanup();
  }
});

/** A PATH of every command of /usr/bin and /usr/sbin but npm, npx and corepack: a host with node alone. */
function pathWithoutNpm(dir: string): string {
  mkdirSync(dir);
  for (const from of ['/usr/bin', '/usr/sbin']) {
    for (const name of readdirSync(from)) {
      if (['npm', 'npx', 'corepack'].includes(name) || existsSync(join(dir, name))) continue;
      symlinkSync(join(from, name), join(dir, name));
    }
  }
  return dir;
}

test('installs on a host with node and no npm: the production dependencies, found by walking package.json', () => {
  const work = tempDir();
  try {
    const from = copyCheckout(join(work.path, 'checkout'));
    const root = join(work.path, 'root');
    const result = run('sh', [join(from, 'scripts', 'install.sh')], { DESTDIR: root, PATH: pathWithoutNpm(join(work.path, 'bin')) });
    assert.is(result.status, 0, result.stderr);
    const installed = readdirSync(join(root, 'usr/local/lib/tide/node_modules'));
    for (const dependency of ['openpgp', 'zod', 'smol-toml', 'got', 'proper-lockfile']) assert.ok(installed.includes(dependency), `${dependency} missing: ${installed}`);
    for (const devDependency of ['typescript', 'uvu', 'marked']) assert.not.ok(installed.includes(devDependency), `${devDependency} installed`);
    // A missing production dependency is named, and nothing is installed.
    rmSync(join(from, 'node_modules', 'zod'), { recursive: true });
    const broken = run('sh', [join(from, 'scripts', 'install.sh')], { DESTDIR: join(work.path, 'root2') });
    assert.is(broken.status, 1);
    assert.match(broken.stderr, /production dependencies are missing in .*node_modules/);
    assert.match(broken.stderr, /zod \(needed by tide\)/);
    assert.not.ok(existsSync(join(work.path, 'root2', 'usr/local/lib/tide')));
  } finally {
    work.cleanup();
  }
});

test('the drop-ins: a check of the writable paths before every start, tide-update after the app (After= only)', () => {
  const work = tempDir();
  try {
    const from = copyCheckout(join(work.path, 'checkout'));
    const root = join(work.path, 'root');
    installOk(from, root, ['--app-unit', 'demo.service']);
    for (const service of shippedServices) {
      const pre = listOf(readUnit(unitsIn(root), service), 'Service', 'ExecStartPre');
      assert.ok(pre.some((line) => line.endsWith('/usr/local/lib/tide/systemd/check-writable.mjs')), `${service}: ${pre}`);
    }
    const update = readUnit(unitsIn(root), 'tide-update.service');
    assert.ok(listOf(update, 'Unit', 'After').includes('demo.service'));
    assert.ok(listOf(update, 'Unit', 'After').includes('nginx.service'));
    assert.not.ok(listOf(update, 'Unit', 'Wants').includes('demo.service'), 'an update must not start the app');
    assert.ok(existsSync(join(root, 'usr/local/lib/tide/systemd/check-writable.mjs')));
  } finally {
    work.cleanup();
  }
});

test('the installed units with their drop-ins pass verify and stay at exposure 5.0 or lower', () => {
  const work = tempDir();
  try {
    const from = copyCheckout(join(work.path, 'checkout'));
    const root = join(work.path, 'root');
    installOk(from, root, ['--app-unit', 'demo.service']);
    const staged = stageForAnalyze(unitsIn(root), join(work.path, 'analyze'));
    for (const name of shippedUnits) {
      const { status, warnings } = verifyUnit(join(staged, name));
      assert.is(status, 0, `${name}: ${warnings.join('\n')}`);
      assert.equal(warnings, []);
    }
    for (const name of shippedServices) assert.ok(exposureOf(join(staged, name)) <= 5.0, name);
  } finally {
    work.cleanup();
  }
});

test('the installed package runs and loads the installed config with its own dependencies', () => {
  const work = tempDir();
  try {
    const from = copyCheckout(join(work.path, 'checkout'));
    const root = join(work.path, 'root');
    installOk(from, root);
    const lib = join(root, 'usr', 'local', 'lib', 'tide');
    // The checkout copy is gone, so nothing can resolve from its node_modules.
    run('rm', ['-rf', from]);
    const script = `const m = await import(process.argv[1]); console.log(m.loadConfig(process.argv[2]).app);`;
    const loaded = run('node', ['--input-type=module', '-e', script,
      join(lib, 'dist', 'src', 'config', 'load-config.js'), join(root, 'etc', 'tide', 'tide.toml')]);
    assert.is(loaded.status, 0, loaded.stderr);
    assert.is(loaded.stdout.trim(), 'demo');
    assert.not.ok(existsSync(join(lib, 'node_modules', 'typescript')), 'dev dependencies were installed');
    // The wrapper runs the command package.json names; run that from the installed tree.
    const wrapper = readFileSync(join(root, 'usr', 'local', 'bin', 'tide'), 'utf8');
    const [, environment, flags, entry] = /exec env (.*?)'\/\S*node' (.*?) ?'\/usr\/local\/lib\/tide\/(\S+)' "\$@"/.exec(wrapper) ?? [];
    assert.is(entry, JSON.parse(readFileSync(join(lib, 'package.json'), 'utf8')).bin.tide, wrapper);
    // The environment and node's flags are the entry's own, from its "#!/usr/bin/env -S ..." line.
    const shebang = readFileSync(join(lib, entry!), 'utf8').split('\n', 1)[0];
    assert.is(shebang, `#!/usr/bin/env -S ${environment}node ${flags}`, wrapper);
    assert.match(flags!, /--max-semi-space-size=1/);
    const help = run('node', [join(lib, entry!), '--help']);
    assert.is(help.status, 0, help.stderr);
    assert.match(help.stdout, /usage: tide/);
  } finally {
    work.cleanup();
  }
});

test('takes write access to the keys dir away from group and others', () => {
  const work = tempDir();
  try {
    const from = copyCheckout(join(work.path, 'checkout'));
    const root = join(work.path, 'root');
    const keys = join(root, 'etc', 'tide', 'keys');
    mkdirSync(keys, { recursive: true });
    chmodSync(keys, 0o777);
    installOk(from, root);
    assert.is(modeOf(keys), '755');
  } finally {
    work.cleanup();
  }
});

test('--prefix and --config choose the install directory and the first config', () => {
  const work = tempDir();
  try {
    const from = copyCheckout(join(work.path, 'checkout'));
    const root = join(work.path, 'root');
    const shop = join(work.path, 'shop.toml');
    const example = readFileSync(join(from, 'systemd', 'tide.toml.example'), 'utf8');
    writeFileSync(shop, example.replace('app = "demo"', 'app = "shop"').replaceAll('demo.service', 'shop.service'));
    installOk(from, root, ['--prefix', '/opt/tide', '--config', shop]);
    assert.is(readFileSync(join(root, 'etc', 'tide', 'tide.toml'), 'utf8'), readFileSync(shop, 'utf8'));
    assert.ok(listOf(readUnit(unitsIn(root), 'tide-verify.service'), 'Unit', 'After').includes('shop.service'));
    assert.ok(existsSync(join(root, 'opt', 'tide', 'lib', 'tide', 'package.json')));
    const wrapper = readFileSync(join(root, 'opt', 'tide', 'bin', 'tide'), 'utf8');
    assert.match(wrapper, /'\/opt\/tide\/lib\/tide\/dist\/src\/cli\/bin\.js'/);
    const update = readUnit(unitsIn(root), 'tide-update.service');
    assert.match(update.get('Service')?.get('ExecStart')?.[0] ?? '', /^\/opt\/tide\/bin\/tide update/);
  } finally {
    work.cleanup();
  }
});

test("every unit's Documentation= page is installed, under the default prefix and another", () => {
  const work = tempDir();
  try {
    const from = copyCheckout(join(work.path, 'checkout'));
    for (const prefix of ['/usr/local', '/opt/tide']) {
      const root = join(work.path, `root${prefix.replaceAll('/', '-')}`);
      installOk(from, root, ['--prefix', prefix, '--no-enable']);
      for (const name of shippedUnits) {
        const pages = listOf(readUnit(unitsIn(root), name), 'Unit', 'Documentation');
        assert.ok(pages.length > 0, `${name} names no documentation`);
        for (const page of pages) {
          assert.match(page, new RegExp(`^file:${prefix}/lib/tide/docs/[a-z-]+\\.md$`), `${name}: ${page}`);
          assert.ok(existsSync(join(root, page.slice('file:'.length))), `${name}: ${page} is not installed`);
        }
      }
    }
  } finally {
    work.cleanup();
  }
});

test('refuses an unknown argument with exit 2 and installs nothing', () => {
  const work = tempDir();
  try {
    const root = join(work.path, 'root');
    const result = runInstall(copyCheckout(join(work.path, 'checkout')), root, ['--bogus']);
    assert.is(result.status, 2);
    assert.match(result.stderr, /unknown argument: --bogus/);
    assert.not.ok(existsSync(root));
  } finally {
    work.cleanup();
  }
});

test.run();
