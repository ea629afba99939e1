// SPEC config.md#config-strictness: an unknown key or table anywhere is refused with
// its line and the closest known key; no probe only when the config says so.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { parseConfig } from '../../src/config/load-config.js';
import { throwsWithCode } from '../helpers/assert-error.js';

const top = `app = "demo"
state_dir = "/var/lib/tide/demo"
mirrors = ["file:///srv/m"]
keys = ["/etc/tide/keys/a.asc", "/etc/tide/keys/b.asc"]
`;
const httpProbe = '\n[[health.probe]]\ntype = "http"\nurl = "http://127.0.0.1/"\n';

/** Each typo class: the config text and the exact message. */
const typoCases: { name: string; text: string; message: string }[] = [
  { name: 'a top-level key', text: `${top}treshold = 2\n${httpProbe}`, message: 'treshold: unknown key (line 5); did you mean threshold?' },
  { name: 'a table', text: `${top}${httpProbe}\n[helth]\ntimeout = "5s"\n`, message: 'helth: unknown table (line 10); did you mean health?' },
  { name: 'an array of tables', text: `${top}\n[health]\ntimeout = "5s"\n\n[[health.probes]]\ntype = "http"\nurl = "http://x/"\n`, message: 'health.probes: unknown table (line 9); did you mean health.probe?' },
  { name: 'a key of an http probe', text: `${top}${httpProbe}exepct = 200\n`, message: 'health.probe.exepct: unknown key for type = "http" (line 9); did you mean health.probe.expect?' },
  { name: 'a key of another probe type', text: `${top}${httpProbe}\n[[health.probe]]\ntype = "tcp"\nport = 80\nurl = "http://x/"\n`, message: 'health.probe.url: unknown key for type = "tcp" (line 13); did you mean health.probe.port?' },
  { name: 'a key of [health]', text: `${top}\n[health]\ntimout = "5s"\n${httpProbe}`, message: 'health.timout: unknown key (line 7); did you mean health.timeout?' },
  { name: 'a key of a container', text: `${top}${httpProbe}\n[[container]]\nname = "web"\nimage = "localhost/web"\narg = []\n`, message: 'container.arg: unknown key (line 13); did you mean container.args?' },
  { name: 'a key of an inline link', text: `${top}link = [{ path = "/a", target = "b" }, { path = "/c", tagret = "d" }]\n${httpProbe}`, message: 'link.tagret: unknown key (line 5); did you mean link.target?' },
  { name: 'a key of [service]', text: `${top}${httpProbe}\n[service]\nunti = "demo.service"\n`, message: 'service.unti: unknown key (line 11); did you mean service.unit?' },
  { name: 'a key of an inline [service]', text: `${top}service = { unit = "a", restrat = ["x"] }\n${httpProbe}`, message: 'service.restrat: unknown key (line 5); did you mean service.restart?' },
  { name: 'a key of [podman]', text: `${top}${httpProbe}\n[podman]\nargs = ["podman"]\n`, message: 'podman.args: unknown key (line 11); did you mean podman.argv?' },
  { name: 'a key of [schedule]', text: `${top}${httpProbe}\n[schedule]\ncorn = "* * * * *"\n`, message: 'schedule.corn: unknown key (line 11); did you mean schedule.cron?' },
  { name: 'a key of [metrics]', text: `${top}${httpProbe}\n[metrics]\ntextfle = "x.prom"\n`, message: 'metrics.textfle: unknown key (line 11); did you mean metrics.textfile?' },
  { name: 'a key of [report]', text: `${top}${httpProbe}\n[report]\nurl = "http://x/"\nretry = 2\n`, message: 'report.retry: unknown key (line 12); did you mean report.retries?' },
  { name: 'a table made by a dotted key', text: `${top}helth.timeout = "5s"\n${httpProbe}`, message: 'helth: unknown table (line 5); did you mean health?' },
];

for (const c of typoCases) {
  test(`refuses an unknown key: ${c.name}`, () => {
    const err = throwsWithCode(() => parseConfig(c.text, '/etc/tide/tide.toml'), 'config');
    assert.is(err.message, c.message);
    assert.is(err.where.file, '/etc/tide/tide.toml');
  });
}

test('names the first unknown key written, and counts the others', () => {
  const err = throwsWithCode(() => parseConfig(`${top}kep = 1\n${httpProbe}\n[helth]\nx = 1\n`, 'x'), 'config');
  assert.is(err.message, 'kep: unknown key (line 5); did you mean keep? (and 1 more unknown key)');
});

test('an unknown key is named before what it causes (a missing probe)', () => {
  const err = throwsWithCode(() => parseConfig(`${top}\n[[health.probes]]\ntype = "http"\nurl = "http://x/"\n`, 'x'), 'config');
  assert.match(err.message, /^health\.probes: unknown table/);
});

test('a config without probes is refused unless it says probes = "none"', () => {
  const none = throwsWithCode(() => parseConfig(top, 'x'), 'config');
  assert.match(none.message, /^health\.probe: no \[\[health\.probe\]\] is configured.*probes = "none"/);
  const emptyHealth = throwsWithCode(() => parseConfig(`${top}\n[health]\ntimeout = "5s"\n`, 'x'), 'config');
  assert.match(emptyHealth.message, /^health\.probe: no \[\[health\.probe\]\]/);
  const accepted = parseConfig(`${top}\n[health]\nprobes = "none"\n`, 'x');
  assert.is(accepted.health.probes, 'none');
  assert.equal(accepted.health.probe, []);
});

test('probes = "none" is the only value, and not next to probes', () => {
  const other = throwsWithCode(() => parseConfig(`${top}\n[health]\nprobes = "all"\n`, 'x'), 'config');
  assert.match(other.message, /^health\.probes: .*"none"/);
  const both = throwsWithCode(() => parseConfig(`${top}\n[health]\nprobes = "none"\n${httpProbe}`, 'x'), 'config');
  assert.match(both.message, /^health\.probes: probes = "none", but \[\[health\.probe\]\] entries are configured/);
});

test('the shipped example and the documented complete example pass the strict rules', () => {
  const root = new URL('../../../', import.meta.url);
  const example = readFileSync(new URL('systemd/tide.toml.example', root), 'utf8');
  assert.is(parseConfig(example, 'tide.toml.example').app, 'demo');
  const docs = readFileSync(new URL('docs/config.md', root), 'utf8');
  const complete = /## A complete example\s+```toml\n([\s\S]*?)```/.exec(docs)?.[1];
  assert.ok(complete, 'docs/config.md has its complete example');
  assert.is(parseConfig(complete!, 'config.md').health.probe.length, 3);
});

test.run();
