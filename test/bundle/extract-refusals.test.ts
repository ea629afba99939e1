// SPEC formats.md#bundle-rules: one test per refusal, each with a real tarball made by Python's
// tarfile: the code, the entry named, no staging directory left behind.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { craftBundle, craftBundles, expectRefusal, type CraftedEntry, type CraftSpec } from './fixtures.js';

const web = { name: 'web', type: 'dir' };
const index = { name: 'web/index.html', data: '<h1>demo</h1>' };
const specWith = (...entries: CraftedEntry[]): CraftSpec => ({ entries: [web, index, ...entries] });
const bundleWith = (...entries: CraftedEntry[]): Buffer => craftBundle(specWith(...entries));
/** One bundle per extra entry, crafted by one Python process. */
const bundlesWith = (entries: CraftedEntry[]): Buffer[] => craftBundles(entries.map((entry) => specWith(entry)));

test('refuses an absolute path', async () => {
  const err = await expectRefusal(bundleWith({ name: '/etc/cron.d/evil', data: 'x' }), { code: 'bundle-policy', entry: '/etc/cron.d/evil' });
  assert.match(err.message, /absolute/);
});

test('refuses a ".." component', async () => {
  const err = await expectRefusal(bundleWith({ name: 'web/../../evil', data: 'x' }), { code: 'bundle-policy', entry: 'web/../../evil' });
  assert.match(err.message, /"\.\." component/);
});

test('refuses the same path twice', async () => {
  await expectRefusal(bundleWith({ name: 'web/index.html', data: 'second' }), { code: 'bundle-policy', entry: 'web/index.html' });
});

test('refuses the same path twice after normalising ./a, a/ and a//b', async () => {
  const again: CraftedEntry[] = [
    { name: './web/index.html', data: 'second' },
    { name: 'web//index.html', data: 'second' },
    { name: 'web/./index.html', data: 'second' },
    { name: './web/', type: 'dir' },
  ];
  const bundles = bundlesWith(again);
  for (const [i, entry] of again.entries()) {
    await expectRefusal(bundles[i]!, { code: 'bundle-policy', entry: entry.name });
  }
});

test('refuses a name with a control character', async () => {
  const names = ['web/new\nline', 'web/esc\u001b[31m', 'web/del\u007f', 'web/c1\u0085'];
  const bundles = bundlesWith(names.map((name) => ({ name, data: 'x' })));
  for (const [i, name] of names.entries()) {
    const err = await expectRefusal(bundles[i]!, { code: 'bundle-policy', entry: name });
    assert.match(err.message, /control characters/);
  }
});

test('refuses a name that is not UTF-8', async () => {
  const err = await expectRefusal(
    craftBundle({ format: 'gnu', entries: [web, { nameHex: Buffer.from('web/caf\xe9', 'latin1').toString('hex'), data: 'x' }] }),
    { code: 'bundle-policy', entry: 'web/caf\ufffd' },
  );
  assert.match(err.message, /UTF-8/);
});

test('refuses a name with a backslash', async () => {
  await expectRefusal(bundleWith({ name: 'web\\..\\..\\evil', data: 'x' }), { code: 'bundle-policy', entry: 'web\\..\\..\\evil' });
});

test('refuses a hard link', async () => {
  const err = await expectRefusal(bundleWith({ name: 'web/hard', type: 'hardlink', linkname: 'web/index.html' }), { code: 'bundle-policy', entry: 'web/hard' });
  assert.match(err.message, /hard link/);
});

test('refuses a symlink to an absolute target', async () => {
  const err = await expectRefusal(bundleWith({ name: 'web/passwd', type: 'symlink', linkname: '/etc/passwd' }), { code: 'bundle-policy', entry: 'web/passwd' });
  assert.match(err.message, /absolute symlink target/);
});

test('refuses a symlink that climbs out of the bundle', async () => {
  const err = await expectRefusal(bundleWith({ name: 'web/etc', type: 'symlink', linkname: '../../etc' }), { code: 'bundle-policy', entry: 'web/etc' });
  assert.match(err.message, /leaves it/);
});

test('accepts nothing but files, directories and symlinks', async () => {
  const cases: [CraftedEntry, RegExp][] = [
    [{ name: 'web/null', type: 'chr' }, /character device/],
    [{ name: 'web/sda', type: 'blk' }, /block device/],
    [{ name: 'web/pipe', type: 'fifo' }, /fifo/],
    [{ name: 'web/sparse', type: 'S', data: 'x' }, /type/],
  ];
  const bundles = bundlesWith(cases.map(([entry]) => entry));
  for (const [i, [entry, message]] of cases.entries()) {
    const err = await expectRefusal(bundles[i]!, { code: 'bundle-policy', entry: entry.name });
    assert.match(err.message, message);
  }
});

test('refuses setuid, setgid and sticky bits', async () => {
  const cases: [CraftedEntry, string][] = [
    [{ name: 'web/suid', mode: 0o4755, data: 'x' }, 'setuid'],
    [{ name: 'web/sgid', mode: 0o2755, data: 'x' }, 'setgid'],
    [{ name: 'web/tmp', type: 'dir', mode: 0o1755 }, 'sticky'],
  ];
  const bundles = bundlesWith(cases.map(([entry]) => entry));
  for (const [i, [entry, bit]] of cases.entries()) {
    const named = entry.type === 'dir' ? `${entry.name}/` : entry.name; // tarfile writes directories as `name/`
    const err = await expectRefusal(bundles[i]!, { code: 'bundle-policy', entry: named });
    assert.ok(err.message.includes(bit), err.message);
  }
});

test('refuses world-writable entries', async () => {
  const [file, dir] = bundlesWith([{ name: 'web/open', mode: 0o666, data: 'x' }, { name: 'web/drop', type: 'dir', mode: 0o777 }]);
  await expectRefusal(file!, { code: 'bundle-policy', entry: 'web/open' });
  await expectRefusal(dir!, { code: 'bundle-policy', entry: 'web/drop/' });
});

test('refuses a directory whose mode is not 0755 (a web root of 0700)', async () => {
  const err = await expectRefusal(
    craftBundle({ entries: [{ name: 'web', type: 'dir', mode: 0o700 }, index] }),
    { code: 'bundle-policy', entry: 'web/' },
  );
  assert.match(err.message, /expected directory mode 0755, found 0700/);
});

test('refuses a file whose mode is not 0644 or 0755', async () => {
  const bundles = bundlesWith([0o600, 0o640, 0o700, 0o444].map((mode) => ({ name: 'web/secret', mode, data: 'x' })));
  for (const bundle of bundles) {
    const err = await expectRefusal(bundle, { code: 'bundle-policy', entry: 'web/secret' });
    assert.match(err.message, /expected file mode 0644 or 0755/);
  }
});

test('refuses more entries than the limit', async () => {
  const entries = Array.from({ length: 6 }, (_, i) => ({ name: `web/f${i}`, data: String(i) }));
  const err = await expectRefusal(craftBundle({ entries: [web, ...entries] }), { code: 'bundle-policy', entry: 'web/f4', maxEntries: 5 });
  assert.match(err.message, /at most 5 entries/);
});

test('refuses a path deeper than the depth limit', async () => {
  const deep = 'd/'.repeat(70) + 'f';
  const err = await expectRefusal(bundleWith({ name: deep, data: 'x' }), { code: 'bundle-policy', entry: deep });
  assert.match(err.message, /directories deep/);
});

test('refuses a path longer than the length limit', async () => {
  const long = 'web/' + 'n'.repeat(200) + '/' + 'm'.repeat(200) + '/' + 'x'.repeat(4000);
  await expectRefusal(bundleWith({ name: long, data: 'x' }), { code: 'bundle-policy', entry: long });
});

test('refuses a name longer than a filesystem allows', async () => {
  const long = 'web/' + 'n'.repeat(300);
  const err = await expectRefusal(bundleWith({ name: long, data: 'x' }), { code: 'bundle-policy', entry: long });
  assert.match(err.message, /255 bytes/);
});

test('refuses a bundle over max_unpacked at the entry that passes it', async () => {
  const entries = Array.from({ length: 20 }, (_, i) => ({ name: `web/chunk${String(i).padStart(2, '0')}`, zeros: 100 * 1024 }));
  const err = await expectRefusal(craftBundle({ entries: [web, ...entries] }), { code: 'size', entry: 'web/chunk10', maxUnpacked: 1024 * 1024 });
  assert.match(err.message, /at most 1048576 unpacked bytes/);
});

test.run();
