// test-needs: network
// Every refusal of a release's bundle, through the real `tide` binary against a
// mirror served by a real HTTP server on 127.0.0.1. The hostile bundles are made by
// Python's tarfile and signed like any release, so only the bundle rule can refuse
// them: exit 3, the one line naming the file and the entry, nothing installed.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CraftedEntry } from '../bundle/fixtures.js';
import { createHostFixture, type HostFixture, type HostFixtureOptions } from '../helpers/host-fixture.js';
import { appBundle, appEntries, type AppBundleOptions } from './app-bundles.js';
import { assertRefused, assertUntouched, installFirst, quickHealth, snapshotHost } from './refusal-checks.js';

const test = suite('refusals: bundle');
const bundleFile = 'releases/1.1.0/demo-1.1.0.tar.gz';

interface BundleCase {
  name: string;
  bundle: AppBundleOptions;
  code?: string;
  message: RegExp;
  entry?: string;
  fixture?: HostFixtureOptions;
  /** A bundle built elsewhere instead of `bundle`. */
  prebuilt?: Buffer;
}

/** Install 1.0.0, publish 1.1.0 with a crafted bundle, expect the refusal and an untouched host. */
async function refusedBundle(c: BundleCase): Promise<void> {
  const host = await createHostFixture({ serve: 'http', health: quickHealth, ...c.fixture });
  try {
    await installFirst(host);
    const before = await snapshotHost(host);
    await host.publish('1.1.0', 'good', { bundle: c.prebuilt ?? appBundle('1.1.0', c.bundle) });
    const run = await host.tide(['update']);
    assertRefused(run, { exit: 3, code: c.code ?? 'bundle-policy', message: c.message, file: bundleFile, entry: c.entry });
    await assertUntouched(host, before, { pointerAccepted: true });
    assert.not.ok(existsSync(join(host.stateDir, 'versions', '1.1.0')), 'nothing installed');
    assert.not.ok(existsSync(join(host.stateDir, 'artifacts', '1.1.0')), 'the refused bundle is not kept');
  } finally {
    await host.cleanup();
  }
}

const dir = (name: string, mode = 0o755): CraftedEntry => ({ name, type: 'dir', mode });

const cases: BundleCase[] = [
  { name: 'a web-UI root directory of mode 0700 (the real incident)', bundle: { replace: { web: dir('web', 0o700) } }, message: /expected directory mode 0755, found 0700/, entry: 'web/' },
  { name: 'a ".." path', bundle: { extra: [{ name: 'web/../../escape.txt', data: 'x' }] }, message: /found a "\.\." component/, entry: 'web/../../escape.txt' },
  { name: 'an absolute path', bundle: { extra: [{ name: '/etc/tide-owned', data: 'x' }] }, message: /found the absolute path/, entry: '/etc/tide-owned' },
  { name: 'a symlink whose target leaves the bundle', bundle: { extra: [{ name: 'web/passwd', type: 'symlink', linkname: '../../../etc/passwd', mode: 0o777 }] }, message: /expected a symlink target inside the bundle, found "\.\.\/\.\.\/\.\.\/etc\/passwd", which leaves it/, entry: 'web/passwd' },
  { name: 'a setuid file', bundle: { replace: { 'bin/demo': { mode: 0o4755 } } }, message: /expected no setuid bit, found mode 04755/, entry: 'bin/demo' },
  { name: 'a character device', bundle: { extra: [{ name: 'web/null', type: 'chr', mode: 0o644 }] }, message: /found a character device/, entry: 'web/null' },
  { name: 'a fifo', bundle: { extra: [{ name: 'web/pipe', type: 'fifo', mode: 0o644 }] }, message: /found a fifo/, entry: 'web/pipe' },
  { name: 'a hard link', bundle: { extra: [{ name: 'web/copy.html', type: 'hardlink', linkname: 'web/index.html', mode: 0o644 }] }, message: /found a hard link/, entry: 'web/copy.html' },
  { name: 'the same path twice', bundle: { extra: [{ name: 'web/index.html', data: 'again' }] }, message: /expected each path once, found "web\/index\.html" again/, entry: 'web/index.html' },
  { name: 'a world-writable file', bundle: { replace: { 'web/index.html': { mode: 0o666 } } }, message: /not world-writable, found mode 0666/, entry: 'web/index.html' },
  { name: 'a setgid directory', bundle: { replace: { bin: dir('bin', 0o2755) } }, message: /expected no setgid bit, found mode 02755/, entry: 'bin/' },
  { name: 'a sticky directory', bundle: { replace: { web: dir('web', 0o1755) } }, message: /expected no sticky bit, found mode 01755/, entry: 'web/' },
  { name: 'a file of mode 0600', bundle: { replace: { 'web/index.html': { mode: 0o600 } } }, message: /expected file mode 0644 or 0755, found 0600/, entry: 'web/index.html' },
  { name: 'a write through a symlink inside the bundle', bundle: { extra: [{ name: 'web/lib', type: 'symlink', linkname: '../bin', mode: 0o777 }, { name: 'web/lib/demo', data: 'overwritten', mode: 0o755 }] }, message: /expected a path whose parents are directories, found "web\/lib", a symlink/, entry: 'web/lib/demo' },
  { name: 'a name with a control character', bundle: { extra: [{ name: 'web/bad\nname', data: 'x' }] }, message: /expected a path without control characters/, entry: 'web/bad\nname' },
];

for (const c of cases) test(`refuses a bundle with ${c.name}`, () => refusedBundle(c));

test('refuses a bundle that unpacks to more than max_unpacked', () =>
  refusedBundle({
    name: 'over max_unpacked',
    fixture: { topConfig: 'max_unpacked = "64KiB"' },
    bundle: { extra: [{ name: 'web/big.bin', zeros: 100 * 1024 }] },
    code: 'size',
    message: /expected at most 65536 unpacked bytes, found \d+/,
    entry: 'web/big.bin',
  }));

test('refuses a bundle of more than 100 000 entries', async () => {
  const entries = appEntries('1.1.0');
  // Python writes the 100 000 extra empty files itself: one process, a few seconds.
  const script = `
import io, json, sys, tarfile
entries = json.load(sys.stdin)
out = io.BytesIO()
with tarfile.open(fileobj=out, mode='w:gz', compresslevel=1) as tar:
    for e in entries:
        info = tarfile.TarInfo(e['name']); info.mode = e['mode']
        data = e.get('data', '').encode()
        info.type = tarfile.DIRTYPE if e['type'] == 'dir' else tarfile.REGTYPE
        info.size = 0 if e['type'] == 'dir' else len(data)
        tar.addfile(info, io.BytesIO(data))
    for i in range(100000):
        info = tarfile.TarInfo('web/many/%03d/%d' % (i // 1000, i)); info.mode = 0o644
        tar.addfile(info, io.BytesIO(b''))
sys.stdout.buffer.write(out.getvalue())
`;
  const bundle = execFileSync('python3', ['-c', script], { input: JSON.stringify(entries), maxBuffer: 1 << 28 });
  await refusedBundle({ name: 'too many entries', bundle: {}, prebuilt: bundle, message: /expected at most 100000 entries/ });
});

test('refuses a release lacking a [[link]] target before anything is swapped', () =>
  refusedBundle({
    name: 'no bin/demo',
    bundle: { replace: { 'bin/demo': null }, extra: [{ name: 'bin/other', mode: 0o755, data: '#!/bin/sh\n' }] },
    code: 'missing-link-target',
    message: /release 1\.1\.0 has no bin\/demo for the link /,
    entry: 'bin/demo',
  }));

/** Install 1.0.0, publish 1.1.0, then change the bundle on the mirror. */
async function tamperedBundle(change: (path: string) => void, expected: { code: string; message: RegExp }): Promise<void> {
  const host: HostFixture = await createHostFixture({ serve: 'http', health: quickHealth });
  try {
    await installFirst(host);
    const before = await snapshotHost(host);
    await host.publish('1.1.0');
    change(join(host.mirrorDir, bundleFile));
    const run = await host.tide(['update']);
    assertRefused(run, { exit: 3, ...expected, mirror: host.mirrorUrl, file: bundleFile });
    await assertUntouched(host, before, { pointerAccepted: true });
    assert.not.ok(existsSync(join(host.stateDir, 'artifacts', '1.1.0')), 'no part file of the refused bundle is kept');
  } finally {
    await host.cleanup();
  }
}

test('refuses a tampered bundle (sha256 mismatch)', () =>
  tamperedBundle((path) => {
    const bytes = readFileSync(path);
    bytes[bytes.length - 20] ^= 0xff;
    writeFileSync(path, bytes);
  }, { code: 'hash', message: /expected sha256 [0-9a-f]{64}, got [0-9a-f]{64}/ }));

test('refuses a bundle bigger than its signed size without reading past it', () =>
  tamperedBundle((path) => appendFileSync(path, Buffer.alloc(4096, 1)), { code: 'size', message: /expected \d+ more bytes, the mirror announces \d+/ }));

test('a failing hooks/pre-swap refuses the release; nothing changed', async () => {
  const host = await createHostFixture({ serve: 'http', health: quickHealth });
  try {
    await installFirst(host);
    const before = await snapshotHost(host);
    await host.publish('1.1.0', 'good', { extraFiles: { 'hooks/pre-swap': `#!/bin/sh\necho "pre-swap $TIDE_APP $TIDE_FROM $TIDE_TO" > ${host.dir}/hook.out\nexit 3\n` } });
    const run = await host.tide(['update']);
    assertRefused(run, { exit: 3, code: 'hook-failed', message: /hooks\/pre-swap exited 3; nothing was swapped/, file: bundleFile, entry: 'hooks/pre-swap' });
    assert.is(readFileSync(join(host.dir, 'hook.out'), 'utf8'), 'pre-swap demo 1.0.0 1.1.0\n', 'the hook ran with TIDE_APP, TIDE_FROM, TIDE_TO');
    await assertUntouched(host, before, { pointerAccepted: true });
    assert.not.ok(existsSync(join(host.stateDir, 'versions', '1.1.0')));
  } finally {
    await host.cleanup();
  }
});

test.run();
