// Attacks on the extractor: node-tar's past CVEs and the symlink tricks behind them.
// Each plants a victim outside the staging directory and checks it is untouched.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { craftBundle, craftBundles, craftTars, expectRefusal, type CraftedEntry } from './fixtures.js';

const web = { name: 'web', type: 'dir' };

/** A directory `outside/` next to the staging dir with one file the attack wants to change. */
const plantVictim = (dir: string): void => {
  mkdirSync(join(dir, 'outside'));
  writeFileSync(join(dir, 'outside', 'victim'), 'original');
};
const victimUntouched = (dir: string): void => {
  assert.equal(readdirSync(join(dir, 'outside')), ['victim']);
  assert.is(readFileSync(join(dir, 'outside', 'victim'), 'utf8'), 'original');
};

/** The victim's absolute path is only known inside the temp dir: craft the bundle there. */
async function refuseAgainstVictim(entries: (outside: string) => CraftedEntry[], entry: (outside: string) => string, message: RegExp): Promise<void> {
  let outside = '';
  const err = await expectRefusal(
    (dir) => {
      outside = join(dir, 'outside');
      return craftBundle({ entries: [web, ...entries(outside)] });
    },
    { code: 'bundle-policy', plant: plantVictim, after: victimUntouched },
  );
  assert.is(err.where.entry, entry(outside));
  assert.match(err.message, message);
}

test('refuses a symlink out of the bundle before a file is written through it', async () => {
  await refuseAgainstVictim(
    (outside) => [{ name: 'a', type: 'symlink', linkname: outside }, { name: 'a/victim', data: 'pwned' }],
    () => 'a',
    /absolute symlink target/,
  );
});

test('refuses writing through a symlink that stays inside the bundle', async () => {
  const bundle = craftBundle({ entries: [web, { name: 'a', type: 'symlink', linkname: 'web' }, { name: 'a/evil', data: 'x' }] });
  const err = await expectRefusal(bundle, { code: 'bundle-policy', entry: 'a/evil' });
  assert.match(err.message, /"a", a symlink/);
});

test('refuses a directory replaced by a symlink (CVE-2021-32803)', async () => {
  await refuseAgainstVictim(
    (outside) => [{ name: 'a', type: 'dir' }, { name: 'a', type: 'symlink', linkname: outside }, { name: 'a/victim', data: 'pwned' }],
    () => 'a',
    /symlink target/,
  );
  const bundle = craftBundle({ entries: [{ name: 'a', type: 'dir' }, { name: 'a', type: 'symlink', linkname: 'web' }] });
  const err = await expectRefusal(bundle, { code: 'bundle-policy', entry: 'a' });
  assert.match(err.message, /each path once/);
});

test('refuses an absolute path hidden behind extra slashes (CVE-2021-32804)', async () => {
  await refuseAgainstVictim(
    (outside) => [{ name: `////${outside}/victim`, data: 'pwned' }],
    (outside) => `////${outside}/victim`,
    /absolute path/,
  );
  const bundle = craftBundle({ entries: [{ name: '////etc/passwd', data: 'x' }] });
  await expectRefusal(bundle, { code: 'bundle-policy', entry: '////etc/passwd' });
});

test('refuses writing through a symlink named in another case (CVE-2021-37701)', async () => {
  const bundle = craftBundle({ entries: [web, { name: 'FOO', type: 'symlink', linkname: 'web' }, { name: 'foo/evil', data: 'x' }] });
  const err = await expectRefusal(bundle, { code: 'bundle-policy', entry: 'foo/evil' });
  assert.match(err.message, /a symlink/);
});

test('refuses writing through a symlink named in another Unicode form (CVE-2021-37712)', async () => {
  const composed = 'caf\u00e9';
  const decomposed = 'cafe\u0301';
  const bundle = craftBundle({ entries: [web, { name: composed, type: 'symlink', linkname: 'web' }, { name: `${decomposed}/evil`, data: 'x' }] });
  const err = await expectRefusal(bundle, { code: 'bundle-policy', entry: `${decomposed}/evil` });
  assert.match(err.message, /a symlink/);
});

test('refuses drive-letter and backslash paths (CVE-2021-37713)', async () => {
  const names = ['c:../evil', 'C:evil', 'web\\..\\..\\evil'];
  const bundles = craftBundles(names.map((name) => ({ entries: [web, { name, data: 'x' }] })));
  for (const [i, name] of names.entries()) {
    await expectRefusal(bundles[i]!, { code: 'bundle-policy', entry: name });
  }
});

test('refuses a very deep path at once (CVE-2024-28863)', async () => {
  const deep = 'a/'.repeat(30_000) + 'f';
  const started = Date.now();
  const err = await expectRefusal(craftBundle({ entries: [{ name: deep, data: 'x' }] }), { code: 'bundle-policy' });
  assert.is(err.where.entry, deep);
  assert.ok(Date.now() - started < 5_000, 'refused quickly');
});

test('refuses a symlink chain that climbs out through another symlink', async () => {
  const bundle = craftBundle({
    entries: [{ name: 'd', type: 'dir' }, { name: 'd/l', type: 'symlink', linkname: '..' }, { name: 'x', type: 'symlink', linkname: 'd/l/..' }],
  });
  const err = await expectRefusal(bundle, { code: 'bundle-policy', entry: 'x' });
  assert.match(err.message, /".." only at its start/);
});

test('refuses a hard link, even to a file inside the bundle (CVE-2018-20834)', async () => {
  const bundle = craftBundle({ entries: [web, { name: 'web/a', type: 'symlink', linkname: 'index.html' }, { name: 'web/b', type: 'hardlink', linkname: 'web/a' }] });
  await expectRefusal(bundle, { code: 'bundle-policy', entry: 'web/b' });
});

test('judges the pax path, not the ustar name it overrides', async () => {
  const bundle = craftBundle({ entries: [web, { name: 'web/innocent', pax: { path: '../evil' }, data: 'x' }] });
  await expectRefusal(bundle, { code: 'bundle-policy', entry: '../evil' });
});

test('refuses a pax record node-tar and GNU tar would read differently', async () => {
  // node-tar drops a record whose value holds a newline and keeps the ustar name; GNU tar reads `../evil\nx`.
  const bundle = craftBundle({ entries: [web, { name: 'web/innocent', pax: { path: '../evil\nx' }, data: 'x' }] });
  const err = await expectRefusal(bundle, { code: 'bundle-policy' });
  assert.match(err.message, /well-formed pax records/);
});

test('judges the pax link target, not the ustar one it overrides', async () => {
  const bundle = craftBundle({ entries: [web, { name: 'web/l', type: 'symlink', linkname: 'index.html', pax: { linkpath: '/etc/shadow' } }] });
  const err = await expectRefusal(bundle, { code: 'bundle-policy', entry: 'web/l' });
  assert.match(err.message, /\/etc\/shadow/);
});

test('judges a GNU long name', async () => {
  const name = 'web/' + 'x'.repeat(120) + '/../../../evil';
  const bundle = craftBundle({ format: 'gnu', entries: [web, { name, data: 'x' }] });
  await expectRefusal(bundle, { code: 'bundle-policy', entry: name });
});

test('refuses a lone zero block that hides entries from GNU tar', async () => {
  const [headTar, hiddenTar] = craftTars([{ entries: [web], noEnd: true }, { entries: [{ name: 'web/hidden', data: 'x' }] }]);
  const smuggled = gzipSync(Buffer.concat([headTar!, Buffer.alloc(512), hiddenTar!]));
  const err = await expectRefusal(smuggled, { code: 'bundle-policy' });
  assert.match(err.message, /lone zero block/);
});

test('refuses more than a few metadata headers before one entry', async () => {
  const globals = Array.from({ length: 5 }, (_, i) => ({ type: 'global', pax: { comment: `g${i}` } }));
  const err = await expectRefusal(craftBundle({ entries: [web, ...globals, { name: 'web/a', data: 'x' }] }), { code: 'bundle-policy' });
  assert.match(err.message, /pax or long-name headers/);
});

test('refuses an oversized pax header', async () => {
  const bundle = craftBundle({ entries: [web, { name: 'web/a', data: 'x', pax: { comment: 'c'.repeat(70_000) } }] });
  const err = await expectRefusal(bundle, { code: 'bundle-policy' });
  assert.match(err.message, /pax or long-name header of at most/);
});

test.run();
