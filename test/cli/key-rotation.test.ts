// test-needs: network
// Key-rotation drills through the real CLI (SPEC trust.md#the-root-chain): the release
// engineer rotates with `tide release rotate-keys`, promotes and publishes; the host
// runs `tide update` against the mirror and walks keys/root.<N>.json.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { createHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { tempDir } from '../helpers/tmp.js';
import { assertRefused, quickHealth, snapshotHost } from './refusal-checks.js';
import { keyArgs, releaseSide, type KeyFiles, type ReleaseSide } from './release-side.js';

const test = suite('key rotation drills');
const pointer = 'channels/stable.json';

interface Drill { host: HostFixture; side: ReleaseSide; a: KeyFiles; b?: KeyFiles }

/**
 * A host trusting key A (and B with `trustedKeys: 2`) as root 1, running 1.0.0 promoted
 * by all of them; `body` runs the drill, and the host is cleaned up whatever happens.
 */
async function withDrill(over: Parameters<typeof createHostFixture>[0], body: (d: Drill) => Promise<void>): Promise<void> {
  const host = await createHostFixture({ serve: 'http', health: quickHealth, ...over });
  try {
    const side = releaseSide(host);
    const a = side.keyFiles(host.keys[0]!, 'a');
    const b = host.keys[1] && side.keyFiles(host.keys[1], 'b');
    const signers = b ? [a, b] : [a];
    await side.build('1.0.0', signers);
    await side.ok('promote', '--tree', side.tree, '--app', 'demo', '--channel', 'stable', '--version', '1.0.0', ...keyArgs(signers));
    await side.publish();
    const first = await host.tide(['update']);
    assert.is(first.code, 0, first.stdout + first.stderr);
    await body({ host, side, a, ...(b && { b }) });
  } finally {
    await host.cleanup();
  }
}

const promote = (side: ReleaseSide, version: string, keys: KeyFiles[]) =>
  side.ok('promote', '--tree', side.tree, '--app', 'demo', '--channel', 'stable', '--version', version, ...keyArgs(keys));

const storedRoots = (host: HostFixture): string[] => {
  const dir = join(host.stateDir, 'roots');
  return existsSync(dir) ? readdirSync(dir).sort() : [];
};

/** GnuPG 2.2 verifies FILE.asc over FILE with `keys` imported; returns the VALIDSIG fingerprints. */
function gpgVerify(file: string, keys: KeyFiles[]): string[] {
  const home = tempDir('tide-gpg-');
  try {
    const gpg = (...args: string[]) => spawnSync('gpg', ['--batch', '--homedir', home.path, '--status-fd', '1', ...args], { encoding: 'utf8' });
    assert.is(gpg('--import', ...keys.map((k) => k.publicPath)).status, 0);
    const verified = gpg('--verify', `${file}.asc`, file);
    assert.is(verified.status, 0, verified.stderr);
    return [...verified.stdout.matchAll(/VALIDSIG ([0-9A-F]{40})/g)].map((m) => m[1]!.toLowerCase()).sort();
  } finally {
    spawnSync('gpgconf', ['--homedir', home.path, '--kill', 'all']);
    home.cleanup();
  }
}

test('rotate 1 → 2 → 3 while the host is offline; it catches up in one run', () => withDrill({}, async ({ host, side, a }) => {
    const [b, c] = [await side.newKey('b'), await side.newKey('c')];
    await side.ok('rotate-keys', '--tree', side.tree, '--app', 'demo', '--current', a.publicPath, '--add', b.publicPath, '--remove', a.key.fingerprint, ...keyArgs([a, b]));
    await side.build('1.1.0', [b]);
    await promote(side, '1.1.0', [b]);
    await side.publish();
    await side.ok('rotate-keys', '--tree', side.tree, '--add', c.publicPath, '--remove', b.key.fingerprint, ...keyArgs([b, c]));
    await side.build('1.2.0', [c]);
    await promote(side, '1.2.0', [c]);
    await side.publish();
    // GnuPG 2.2 reads the roots: each is signed by the old key and the new one.
    assert.equal(gpgVerify(join(side.tree, 'keys', 'root.2.json'), [a, b]), [a.key.fingerprint, b.key.fingerprint].sort());
    assert.equal(gpgVerify(join(side.tree, 'keys', 'root.3.json'), [b, c]), [b.key.fingerprint, c.key.fingerprint].sort());
    const run = await host.tide(['update']);
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stderr, /trusting root 2: 1 key\(s\), threshold 1/);
    assert.match(run.stderr, /trusting root 3: 1 key\(s\), threshold 1/);
    assert.is(await host.serving(), 'demo 1.2.0');
    assert.equal(storedRoots(host), ['root.2.json', 'root.2.json.asc', 'root.3.json', 'root.3.json.asc']);
    assert.equal(readFileSync(join(host.stateDir, 'roots', 'root.3.json')), readFileSync(join(side.tree, 'keys', 'root.3.json')));
    // The next run trusts root 3 from disk and asks for root 4 only.
    const again = await host.tide(['update']);
    assert.is(again.code, 0, again.stderr);
    assert.not.match(again.stderr, /trusting root/);
}));

test('a single old key below the threshold cannot rotate', () => withDrill({ trustedKeys: 2, threshold: 2 }, async ({ host, side, a, b }) => {
    const c = await side.newKey('c');
    // The publisher's command refuses before writing anything.
    const refused = await side.release('rotate-keys', '--tree', side.tree, '--app', 'demo', '--current', a.publicPath, '--current', b!.publicPath,
      '--current-threshold', '2', '--add', c.publicPath, '--remove', b!.key.fingerprint, ...keyArgs([a, c]));
    assert.is(refused.code, 3, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /^tide: threshold: root 2 needs 2 signature\(s\) by keys of root 1; --key gives 1$/m);
    assert.not.ok(existsSync(join(side.tree, 'keys')), 'nothing written');
    // A thief holding only key a forges root 2 (keys a and c) and serves it: the host refuses it.
    const forged = await side.release('rotate-keys', '--tree', side.tree, '--app', 'demo', '--current', a.publicPath, '--current', b!.publicPath,
      '--current-threshold', '1', '--add', c.publicPath, '--remove', b!.key.fingerprint, ...keyArgs([a, c]));
    assert.is(forged.code, 0, forged.stderr);
    await side.build('6.6.6', [a, c]);
    await promote(side, '6.6.6', [a, c]);
    await side.publish();
    const before = await snapshotHost(host);
    const run = await host.tide(['update']);
    assertRefused(run, { exit: 3, code: 'threshold', message: /root 2 must be signed by 2 key\(s\) of root 1: 1 trusted key\(s\) signed, the threshold is 2/, mirror: host.mirrorUrl, file: 'keys/root.2.json' });
    assert.equal(storedRoots(host), []);
    assert.equal(await snapshotHost(host), before);
}));

test.run();
