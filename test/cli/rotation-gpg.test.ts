// test-needs: network
// GnuPG 2.2 as the release engineer's signing tool (SPEC trust.md#root-documents): a
// root written by hand and signed by gpg, with one key of the old root and one new
// gpg key, is accepted by the real `tide`; so are the pointer and manifest gpg signs.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHostFixture } from '../helpers/host-fixture.js';
import { installFirst, quickHealth } from './refusal-checks.js';

const test = suite('gpg-signed roots');

test('a root, pointer and manifest signed by GnuPG are accepted', async () => {
  const host = await createHostFixture({ health: quickHealth });
  const home = join(host.dir, 'gnupg');
  mkdirSync(home);
  chmodSync(home, 0o700);
  const gpg = (...args: string[]) => execFileSync('gpg', ['--batch', '--yes', '--homedir', home, '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await installFirst(host);
    // The old key (root 1, made by openpgp.js) moves into gpg; a new key is made there.
    const oldKey = join(host.dir, 'a.key.asc');
    writeFileSync(oldKey, host.key.privateArmored);
    gpg('--import', oldKey);
    gpg('--quick-gen-key', 'release-b <b@example.test>', 'ed25519', 'sign', 'never');
    const newPublic = gpg('--armor', '--export', 'release-b');
    const newFingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(gpg('--with-colons', '--list-keys', 'release-b'))![1]!;
    const root = { schema: 1, app: 'demo', version: 2, published: new Date().toISOString(), expires: new Date(Date.now() + 365 * 86_400_000).toISOString(), threshold: 1, keys: [newPublic] };
    mkdirSync(join(host.mirrorDir, 'keys'));
    const rootFile = join(host.mirrorDir, 'keys', 'root.2.json');
    writeFileSync(rootFile, JSON.stringify(root, null, 2) + '\n');
    const sign = (file: string, ...users: string[]) => gpg(...users.flatMap((u) => ['--local-user', u]), '--armor', '--detach-sign', '--output', `${file}.asc`, file);
    sign(rootFile, host.key.fingerprint.toUpperCase(), newFingerprint);
    assert.equal((gpg('--status-fd', '1', '--verify', `${rootFile}.asc`, rootFile).match(/VALIDSIG/g) ?? []).length, 2);
    // A release signed by the new gpg key only.
    await host.publish('1.1.0');
    for (const path of ['releases/1.1.0/manifest.json', 'channels/stable.json']) sign(join(host.mirrorDir, path), newFingerprint);
    const run = await host.tide(['update']);
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stderr, /trusting root 2: 1 key\(s\), threshold 1/);
    assert.is(await host.serving(), 'demo 1.1.0');
    assert.equal(readdirSync(join(host.stateDir, 'roots')).sort(), ['root.2.json', 'root.2.json.asc']);
  } finally {
    spawnSync('gpgconf', ['--homedir', home, '--kill', 'all']);
    await host.cleanup();
  }
});

test.run();
