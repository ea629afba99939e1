// The line a key or table is written on, for `treshold: unknown key (line 7)`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'smol-toml';
import { keyLines, lineOfKey } from '../../src/config/key-lines.js';

/** Each text is valid TOML: the finder only ever runs on what smol-toml accepted. */
function lines(text: string) {
  parse(text);
  return (path: (string | number)[]) => lineOfKey(text, path);
}

test('a top-level key, a table header and a key inside it', () => {
  const at = lines('# a comment\napp = "demo"\n\n[health]\ntimeout = "5s"\n');
  assert.is(at(['app']), 2);
  assert.is(at(['health']), 4);
  assert.is(at(['health', 'timeout']), 5);
  assert.is(at(['absent']), undefined);
});

test('arrays of tables are counted, so a key is found in the right element', () => {
  const at = lines('[[health.probe]]\ntype = "tcp"\nport = 1\n\n[[health.probe]]\ntype = "http"\nexepct = 200\n\n[[health.probes]]\ntype = "x"\n');
  assert.is(at(['health', 'probe', 1, 'exepct']), 7);
  assert.is(at(['health', 'probe', 0, 'type']), 2);
  assert.is(at(['health', 'probes']), 9);
  // The table `health` is first written by the header of its first probe.
  assert.is(at(['health']), 1);
});

test('dotted keys, quoted keys and spaces around dots', () => {
  const at = lines('helth.timeout = "5s"\n"quoted key" = 1\n[ service ]\n  restart . "x" = 2\n[health."odd name"]\nkey = 3\n');
  assert.is(at(['helth']), 1);
  assert.is(at(['helth', 'timeout']), 1);
  assert.is(at(['quoted key']), 2);
  assert.is(at(['service', 'restart', 'x']), 4);
  assert.is(at(['health', 'odd name', 'key']), 6);
});

test('inline tables, also inside arrays, and on later lines of a multi-line array', () => {
  const at = lines('service = { unit = "a", restrat = ["x"] }\nlink = [\n  { path = "/a", target = "b" },\n  # a comment with tagret = 1\n  { path = "/c", tagret = "d" },\n]\n');
  assert.is(at(['service', 'restrat']), 1);
  assert.is(at(['link', 0, 'target']), 3);
  assert.is(at(['link', 1, 'tagret']), 5);
});

test('strings that look like keys or headers are not keys', () => {
  const text = 'a = """\n[fake]\nb = 1\n"""\nc = \'[x] = 1\'\nd = "say \\"e = 1\\""\ne = [\n  ["nested", "[array]"],\n]\n[real]\nf = 1 # g = 2\n';
  const at = lines(text);
  assert.is(at(['fake']), undefined);
  assert.is(at(['b']), undefined);
  assert.is(at(['c']), 5);
  assert.is(at(['e']), 7);
  assert.is(at(['real']), 10);
  assert.is(at(['real', 'f']), 11);
  assert.is(at(['real', 'g']), undefined);
  assert.equal(keyLines(text).map((k) => k.path.join('.')), ['a', 'c', 'd', 'e', 'real', 'real.f']);
});

test('a sub-table of an array of tables belongs to its last element', () => {
  const at = lines('[[stage]]\nname = "a"\n[[stage]]\nname = "b"\n[stage.extra]\nx = 1\n');
  assert.is(at(['stage', 1, 'extra', 'x']), 6);
  assert.is(at(['stage', 0, 'extra']), undefined);
});

test('CRLF line ends and a multi-line literal string', () => {
  const at = lines("a = '''\r\nline\r\n'''\r\nb = 1\r\n[t]\r\nc = 2\r\n");
  assert.is(at(['b']), 4);
  assert.is(at(['t', 'c']), 6);
});

test.run();
