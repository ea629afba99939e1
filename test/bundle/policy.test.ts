// The pure policy, header by header: every rule is a three-line test here.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBundlePolicy, type BundleEntryHeader } from '../../src/bundle/policy.js';
import { throwsWithCode } from '../helpers/assert-error.js';

const dir = (path: string, mode = 0o755): BundleEntryHeader => ({ path, type: 'Directory', mode });
const file = (path: string, size = 1, mode = 0o644): BundleEntryHeader => ({ path, type: 'File', mode, size });
const link = (path: string, linkpath: string): BundleEntryHeader => ({ path, type: 'SymbolicLink', mode: 0o777, linkpath });
const fresh = () => createBundlePolicy({ maxUnpacked: 1000 });

test('normalises ./a, a/ and a//b to one path', () => {
  const policy = fresh();
  assert.is(policy.check(dir('./web/')).path, 'web');
  assert.is(policy.check(file('web//a')).path, 'web/a');
  assert.is(policy.check(file('./web/./b')).path, 'web/b');
  assert.is(policy.check(dir('./')).path, '.');
});

test('refuses the same path twice, also in another case or Unicode form', () => {
  const pairs: [BundleEntryHeader, BundleEntryHeader][] = [
    [file('web/a'), file('./web/a')],
    [file('web/Index.html'), file('web/index.html')],
    [file('caf\u00e9'), file('cafe\u0301')],
    [dir('web'), link('web', '.')],
    [dir('./'), dir('.')],
  ];
  for (const [first, second] of pairs) {
    const policy = fresh();
    policy.check(first);
    const err = throwsWithCode(() => policy.check(second), 'bundle-policy');
    assert.is(err.where.entry, second.path);
  }
});

test('accepts a directory entry after the files that implied it, nothing else', () => {
  const policy = fresh();
  policy.check(file('web/a/b'));
  assert.is(policy.check(dir('web/a')).kind, 'directory');
  assert.is(policy.check(dir('web')).kind, 'directory');
  throwsWithCode(() => policy.check(file('web/a')), 'bundle-policy');
  const other = fresh();
  other.check(file('web/a/b'));
  throwsWithCode(() => other.check(link('web', '.')), 'bundle-policy');
});

test('refuses an entry below a file or a symlink', () => {
  const policy = fresh();
  policy.check(file('web/a'));
  policy.check(link('web/l', 'a'));
  assert.match(throwsWithCode(() => policy.check(file('web/a/x')), 'bundle-policy').message, /a file/);
  assert.match(throwsWithCode(() => policy.check(dir('web/l/sub')), 'bundle-policy').message, /a symlink/);
  assert.match(throwsWithCode(() => policy.check(file('WEB/L/x')), 'bundle-policy').message, /a symlink/);
});

test('accepts symlink targets that stay inside the bundle', () => {
  const policy = fresh();
  for (const [path, target] of [['bin/a', '../web/index.html'], ['bin/b', 'demo'], ['bin/c', '.'], ['bin/d', '..'], ['e', 'web/sub/./x'], ['bin/f', './../web']]) {
    assert.is(policy.check(link(path!, target!)).linkpath, target);
  }
});

test('refuses symlink targets that leave the bundle or climb after a name', () => {
  const cases = [['a', '..'], ['bin/a', '../..'], ['bin/a', '/usr/bin/demo'], ['bin/a', 'x/../y'], ['bin/a', ''], ['bin/a', 'C:\\evil'], ['bin/a', 'ok\u0000no']];
  for (const [path, target] of cases) {
    const err = throwsWithCode(() => fresh().check(link(path!, target!)), 'bundle-policy');
    assert.is(err.where.entry, path);
  }
});

test('refuses the bundle root as anything but a 0755 directory', () => {
  throwsWithCode(() => fresh().check(link('./', 'x')), 'bundle-policy');
  throwsWithCode(() => fresh().check(dir('./', 0o700)), 'bundle-policy');
});

test('ignores symlink modes and checks every other mode exactly', () => {
  assert.is(fresh().check({ path: 'l', type: 'SymbolicLink', mode: 0o7777, linkpath: 'x' }).kind, 'symlink');
  assert.is(fresh().check(file('a', 1, 0o100755)).mode, 0o755);
  for (const mode of [0o4755, 0o2755, 0o1755, 0o646, 0o600, 0o777]) throwsWithCode(() => fresh().check(file('a', 1, mode)), 'bundle-policy');
  for (const mode of [0o700, 0o775, 0o777, 0o1755]) throwsWithCode(() => fresh().check(dir('d', mode)), 'bundle-policy');
  throwsWithCode(() => fresh().check({ path: 'a', type: 'File', size: 1 }), 'bundle-policy');
});

test('refuses every type but file, directory and symlink', () => {
  for (const type of ['Link', 'CharacterDevice', 'BlockDevice', 'FIFO', 'SparseFile', 'GNUDumpDir', 'Unsupported']) {
    const err = throwsWithCode(() => fresh().check({ path: 'x', type, mode: 0o644, linkpath: 'y' }), 'bundle-policy');
    assert.match(err.message, /expected a file, directory or symlink/);
  }
});

test('counts entries and unpacked bytes, refusing past the caps', () => {
  const policy = createBundlePolicy({ maxUnpacked: 10, maxEntries: 3 });
  policy.check(file('a', 4));
  policy.check(file('b', 6));
  assert.is(policy.unpackedBytes, 10);
  const err = throwsWithCode(() => policy.check(file('c', 1)), 'size');
  assert.is(err.where.entry, 'c');
  const counted = createBundlePolicy({ maxUnpacked: 10, maxEntries: 2 });
  counted.check(dir('a'));
  counted.check(dir('b'));
  assert.match(throwsWithCode(() => counted.check(dir('c')), 'bundle-policy').message, /at most 2 entries/);
  assert.is(counted.entries, 3);
});

test.run();
