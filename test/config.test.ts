import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseConfig, restartArgv } from '../src/config/load-config.js';
import { parseDuration, parseSize } from '../src/config/units.js';
import { throwsWithCode } from './helpers/assert-error.js';

const minimal = `
app = "demo"
state_dir = "/var/lib/tide/demo"
mirrors = ["file:///srv/m"]
keys = ["/etc/tide/keys/a.asc"]
`;
/** A config must name its probes, or say it has none on purpose. */
const probe = '\n[[health.probe]]\ntype = "command"\nargv = ["true"]\n';

test('parses the minimal config with the spec defaults', () => {
  const c = parseConfig(minimal + probe, '/etc/tide/tide.toml');
  assert.is(c.channel, 'stable');
  assert.is(c.threshold, 1);
  assert.is(c.keep, 1);
  assert.is(c.max_unpacked, 2 ** 30);
  assert.is(c.health.timeout, 90_000);
  assert.is(c.health.start, 90_000);
  assert.is(c.health.interval, 2_000);
  assert.is(c.health.stable, 10_000);
  assert.equal(c.podman.argv, ['podman']);
  assert.is(c.health.probes, undefined);
});

test('parses durations and sizes', () => {
  assert.is(parseDuration('500ms'), 500);
  assert.is(parseDuration('2s'), 2000);
  assert.is(parseDuration('5m'), 300_000);
  assert.is(parseDuration('five'), undefined);
  assert.is(parseSize('1GiB'), 2 ** 30);
  assert.is(parseSize('512MiB'), 512 * 2 ** 20);
  assert.is(parseSize('10 parsecs'), undefined);
});

test('unit is the short form of restart', () => {
  const c = parseConfig(minimal + '\n[service]\nunit = "demo.service"\n' + probe, 'x');
  assert.equal(restartArgv(c), ['systemctl', 'restart', 'demo.service']);
});

test('refuses a config error with the key and the file', () => {
  const err = throwsWithCode(() => parseConfig(minimal + '\n[health]\ntimeout = "soon"\n' + probe, '/etc/t.toml'), 'config');
  assert.match(err.message, /health\.timeout/);
  assert.is(err.where.file, '/etc/t.toml');
  assert.is(err.exitCode, 2);
});

test('refuses a threshold above the number of keys', () => {
  throwsWithCode(() => parseConfig(minimal + 'threshold = 2\n' + probe, 'x'), 'config');
});

test('refuses invalid TOML', () => {
  const err = throwsWithCode(() => parseConfig('app = = 1', 'x'), 'config');
  assert.match(err.message, /TOML/);
});

test.run();
