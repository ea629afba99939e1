// SPEC install.md#podman-runs-outside-the-sandbox: a systemd-run prefix without KillMode=process
// kills the container's conmon when each podman call's transient unit ends; tide says so.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { parseConfig } from '../../src/config/load-config.js';
import type { Logger } from '../../src/log/logger.js';
import { createMachineContext } from '../../src/machine/wire-context.js';
import { transientUnitWarning } from '../../src/system/podman.js';

const checkout = new URL('../../../', import.meta.url);
const shippedExample = readFileSync(new URL('systemd/tide.toml.example', checkout), 'utf8');

const documented = ['systemd-run', '--quiet', '--collect', '--wait', '--pipe', '-p', 'KillMode=process', '--', 'podman'];

test('the documented argv, and every way of writing the property, pass', () => {
  assert.is(transientUnitWarning(documented), null);
  for (const property of [['-pKillMode=process'], ['--property=KillMode=process'], ['--property', 'KillMode=process'], ['-p', 'KillMode=none']]) {
    assert.is(transientUnitWarning(['/usr/bin/systemd-run', '--wait', '--pipe', ...property, '--', '/usr/bin/podman', '--root', '/x']), null, property.join(' '));
  }
});

test('a plain podman, a wrapper that is not systemd-run, and a scope are not its business', () => {
  assert.is(transientUnitWarning(['podman']), null);
  assert.is(transientUnitWarning(['/usr/bin/podman', '--root', '/var/lib/x']), null);
  assert.is(transientUnitWarning(['nsenter', '-t', '1', '-a', '--', 'podman']), null);
  assert.is(transientUnitWarning(['systemd-run', '--scope', '--', 'podman']), null);
});

test('systemd-run without KillMode=process (the argv documented before): one line naming what to add', () => {
  const said = transientUnitWarning(['systemd-run', '--quiet', '--collect', '--wait', '--pipe', '--', 'podman']);
  assert.ok(said);
  assert.match(said, /^\[podman\] argv runs podman through systemd-run without -p KillMode=process: .*conmon.*add "-p", "KillMode=process" before "--"/);
  // Another property, or a KillMode that kills, is no substitute; a dangling -p neither.
  assert.ok(transientUnitWarning(['systemd-run', '-p', 'Nice=5', '--', 'podman']));
  assert.ok(transientUnitWarning(['systemd-run', '-p', 'KillMode=control-group', '--', 'podman']));
  assert.ok(transientUnitWarning(['systemd-run', '--wait', '-p', 'podman']));
});

test('the shipped example says KillMode=process; a tide run on a host whose argv lacks it warns once, with containers only', () => {
  const warnings = (text: string) => {
    const said: string[] = [];
    const logger: Logger = { log: (level, event) => { if (level === 'warn') said.push(event.message); } };
    createMachineContext(parseConfig(text, 'tide.toml'), logger);
    return said;
  };
  assert.equal(warnings(shippedExample), []);
  const before = shippedExample.replace('"--pipe", "-p", "KillMode=process", "--"', '"--pipe", "--"');
  assert.is.not(before, shippedExample, 'the example has no KillMode=process to remove');
  const said = warnings(before);
  assert.is(said.length, 1, said.join('\n'));
  assert.match(said[0]!, /without -p KillMode=process/);
  // Without [[container]] podman only loads and prunes images: nothing runs on after its unit.
  const noContainers = before.replace(/\[\[container\]\][\s\S]*?(?=\n# Durations)/, '');
  assert.is.not(noContainers, before);
  assert.equal(warnings(noContainers), []);
});

test('every documented argv carries KillMode=process (config.md, install.md)', () => {
  let seen = 0;
  for (const doc of ['docs/config.md', 'docs/install.md', 'docs/containers.md']) {
    const text = readFileSync(new URL(doc, checkout), 'utf8');
    // In TOML blocks and in prose (where the list may wrap).
    for (const [list] of text.matchAll(/\["systemd-run"[^\]]*\]/g)) {
      assert.is(transientUnitWarning(JSON.parse(list) as string[]), null, `${doc}: ${list}`);
      seen += 1;
    }
  }
  assert.ok(seen >= 3, `found ${seen} documented systemd-run argv`);
});

test.run();
