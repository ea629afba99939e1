// test-needs: network
// Key-rotation drills through the real CLI (SPEC trust.md#the-root-chain): the release
// engineer rotates with `tide release rotate-keys`, promotes and publishes; the host
// runs `tide update` against the mirror and walks keys/root.<N>.json.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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

/** Sign a mirror file in place with `tide release sign` (a forger has the same tool). */
const signInMirror = (side: ReleaseSide, host: HostFixture, path: string, keys: KeyFiles[]) =>
  side.ok('sign', ...keyArgs(keys), join(host.mirrorDir, path));

test('a root unsigned, signed only by the new keys, or only by the old, is refused', () => withDrill({}, async ({ host, side, a }) => {
  const b = await side.newKey('b');
  const root2 = { schema: 1, app: 'demo', version: 2, published: new Date().toISOString(), expires: new Date(Date.now() + 86_400_000).toISOString(), threshold: 1, keys: [b.key.publicArmored] };
  mkdirSync(join(host.mirrorDir, 'keys'), { recursive: true });
  writeFileSync(join(host.mirrorDir, 'keys', 'root.2.json'), JSON.stringify(root2, null, 2));
  await side.build('1.1.0', [b]);
  await promote(side, '1.1.0', [b]);
  await side.publish();
  const before = await snapshotHost(host);
  const unsigned = await host.tide(['update']);
  assertRefused(unsigned, { exit: 3, code: 'signature', message: /keys\/root\.2\.json has no signature/, mirror: host.mirrorUrl, file: 'keys/root.2.json' });
  await signInMirror(side, host, 'keys/root.2.json', [b]);
  const newOnly = await host.tide(['update']);
  assertRefused(newOnly, { exit: 3, code: 'signature', message: /root 2 must be signed by 1 key\(s\) of root 1: no valid signature by a trusted key/, mirror: host.mirrorUrl, file: 'keys/root.2.json' });
  await signInMirror(side, host, 'keys/root.2.json', [a]);
  const oldOnly = await host.tide(['update']);
  assertRefused(oldOnly, { exit: 3, code: 'signature', message: /root 2 must be signed by 1 of its own keys: no valid signature by a trusted key/, mirror: host.mirrorUrl, file: 'keys/root.2.json' });
  assert.equal(storedRoots(host), []);
  assert.equal(await snapshotHost(host), before, 'the running version is untouched');
  // Signed by both, root 2 is trusted and so is the pointer b signed.
  await signInMirror(side, host, 'keys/root.2.json', [a, b]);
  const both = await host.tide(['update']);
  assert.is(both.code, 0, both.stdout + both.stderr);
  assert.is(await host.serving(), 'demo 1.1.0');
}));

test('a key removed by rotation can no longer sign pointers', () => withDrill({ trustedKeys: 2 }, async ({ host, side, a, b }) => {
  await side.ok('rotate-keys', '--tree', side.tree, '--app', 'demo', '--current', a.publicPath, '--current', b!.publicPath, '--remove', a.key.fingerprint, ...keyArgs([b!]));
  await side.build('1.1.0', [b!]);
  await promote(side, '1.1.0', [b!]);
  await side.publish();
  assert.is((await host.tide(['update'])).code, 0);
  assert.is(await host.serving(), 'demo 1.1.0');
  // Whoever still holds key a signs a release and a pointer to it with a higher sequence.
  await host.publish('6.6.6', 'good', { signers: [a.key], sequence: 99 });
  const before = await snapshotHost(host);
  const run = await host.tide(['update']);
  assertRefused(run, { exit: 3, code: 'signature', message: new RegExp(`found a signature by key ID ${a.key.fingerprint.slice(-16)}, which is not trusted`), mirror: host.mirrorUrl, file: pointer });
  assert.equal(await snapshotHost(host), before);
}));

test('an expired newest root is refused (exit 3) while the running version keeps running', () => withDrill({}, async ({ host, side, a }) => {
  const b = await side.newKey('b');
  const rotated = await side.ok('rotate-keys', '--tree', side.tree, '--app', 'demo', '--current', a.publicPath, '--add', b.publicPath, '--expires', '4s', '--json', ...keyArgs([a, b]));
  const expires = Date.parse(JSON.parse(rotated.stdout).expires);
  await side.build('1.1.0', [b]);
  await promote(side, '1.1.0', [b]);
  await side.publish();
  await delay(Math.max(0, expires - Date.now()) + 500);
  // What the running version is made of: the links, versions/, the service (the stored roots aside).
  const running = async () => {
    const snapshot = await snapshotHost(host);
    return { ...snapshot, tree: snapshot.tree.filter((entry) => !entry.startsWith('roots/')), sequences: {} };
  };
  const before = await running();
  for (let run = 0; run < 2; run++) {
    const refused = await host.tide(['update']);
    assertRefused(refused, { exit: 3, code: 'expired', message: /root 2, the newest this host trusts, expired at \d{4}-/, file: 'keys/root.2.json' });
    assert.equal(await running(), before, 'the running version keeps running');
  }
  assert.is(await host.serving(), 'demo 1.0.0');
  // The publisher signs root 3 with root 2's keys (expired or not): the host moves on.
  await side.ok('rotate-keys', '--tree', side.tree, '--remove', a.key.fingerprint, ...keyArgs([a, b]));
  await promote(side, '1.1.0', [b]);
  await side.publish();
  const recovered = await host.tide(['update']);
  assert.is(recovered.code, 0, recovered.stdout + recovered.stderr);
  assert.is(await host.serving(), 'demo 1.1.0');
}));

test('after rotating away from a compromised key, its huge sequence no longer locks the channel', () => withDrill({ trustedKeys: 2 }, async ({ host, side, a, b }) => {
  // The thief, holding key a, re-signs the channel with an enormous sequence.
  const path = join(host.mirrorDir, pointer);
  const legit = JSON.parse(readFileSync(path, 'utf8'));
  const stolen = Buffer.from(JSON.stringify({ ...legit, sequence: 1_000_000 }, null, 2));
  writeFileSync(path, stolen);
  await signInMirror(side, host, pointer, [a]);
  const stolenAsc = readFileSync(`${path}.asc`);
  assert.is((await host.tide(['update'])).code, 0);
  assert.is(host.stateJson().sequences.stable, 1_000_000);
  // The channel is locked: the publisher's next pointer (sequence 2, key b) cannot replace it.
  await side.build('1.1.0', [b!]);
  await promote(side, '1.1.0', [b!]);
  const locked = await side.release('publish', '--tree', side.tree, host.mirrorDir);
  assert.is(locked.code, 3, locked.stdout + locked.stderr);
  assert.match(locked.stderr, /the mirror has sequence 1000000 for channels\/stable\.json, the tree has 2/);
  // The publisher rotates key a away; root 2 carries the tree's sequences as floors.
  const rotated = await side.ok('rotate-keys', '--tree', side.tree, '--app', 'demo', '--current', a.publicPath, '--current', b!.publicPath, '--remove', a.key.fingerprint, '--json', ...keyArgs([b!]));
  assert.equal(JSON.parse(rotated.stdout).sequences, { channels: { stable: 2 } });
  // Under root 2 the thief's pointer is signed by no trusted key: publish replaces it.
  await side.publish();
  const run = await host.tide(['update']);
  assert.is(run.code, 0, run.stdout + run.stderr);
  assert.is(await host.serving(), 'demo 1.1.0');
  const state = host.stateJson() as unknown as { sequences: Record<string, number>; acceptedPointers: Record<string, { sequence: number; root: number }> };
  assert.is(state.sequences.stable, 2);
  assert.equal([state.acceptedPointers.stable!.sequence, state.acceptedPointers.stable!.root], [2, 2]);
  // The thief's pointer, served again, is signed by a key root 2 no longer trusts.
  writeFileSync(path, stolen);
  writeFileSync(`${path}.asc`, stolenAsc);
  const replay = await host.tide(['update']);
  assertRefused(replay, { exit: 3, code: 'signature', message: /which is not trusted/, mirror: host.mirrorUrl, file: pointer });
  assert.is(await host.serving(), 'demo 1.1.0');
}));

test.run();
