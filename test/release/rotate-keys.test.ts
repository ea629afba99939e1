// `tide release rotate-keys` and what the rest of the publisher does with roots:
// promote and export re-check with the tree's newest root, publish orders keys/.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { list } from 'tar';
import { rotateKeys } from '../../src/release/rotate-keys.js';
import { promoteChannel } from '../../src/release/promote-channel.js';
import { revokeReleases } from '../../src/release/revoke-releases.js';
import { publishTree } from '../../src/release/publish-tree.js';
import { atomicFileWriter } from '../../src/release/mirror-target.js';
import { exportChannel } from '../../src/release/export-release.js';
import { signFiles } from '../../src/release/sign-files.js';
import { mirrorStatus } from '../../src/release/mirror-status.js';
import { pathToFileURL } from 'node:url';
import { loadRootChain } from '../../src/trust/root-chain.js';
import { rejectsWithCode } from '../helpers/assert-error.js';
import { tempDir } from '../helpers/tmp.js';
import { day, makeKey, makeSignedRelease, type TestKey } from './release-fixtures.js';

const now = new Date('2026-11-23T10:00:00Z');

interface Tree { work: string; tree: string; a: TestKey; b: TestKey; c: TestKey }

/** A tree with stable -> 1.0.0 (sequence 1, key a) and revocations (sequence 1); keys a, b, c. */
async function withTree(body: (t: Tree) => Promise<void>): Promise<void> {
  const tmp = tempDir();
  try {
    const work = tmp.path;
    const tree = join(work, 'tree');
    const [a, b, c] = [await makeKey(join(work, 'keys'), 'a', now), await makeKey(join(work, 'keys'), 'b', now), await makeKey(join(work, 'keys'), 'c', now)];
    await makeSignedRelease(tree, work, '1.0.0', a, now);
    await promoteChannel({ tree, app: 'demo', channel: 'stable', version: '1.0.0', signingKeys: [a.signing], now });
    await revokeReleases({ tree, app: 'demo', versions: ['0.9.0'], signingKeys: [a.signing], now });
    await body({ work, tree, a: a!, b: b!, c: c! });
  } finally {
    tmp.cleanup();
  }
}

const storedRoot = (tree: string, version: number) => ({
  version, bytes: readFileSync(join(tree, 'keys', `root.${version}.json`)), asc: readFileSync(join(tree, 'keys', `root.${version}.json.asc`), 'utf8'),
});

test('the first rotation records root 1 and writes root 2 with the tree\'s sequences as floors', () => withTree(async ({ tree, a, b }) => {
  const rotated = await rotateKeys({ tree, app: 'demo', current: [a.publicPath], add: [b.publicPath], remove: [a.fingerprint], signingKeys: [a.signing, b.signing], now });
  assert.equal([rotated.version, rotated.fingerprints, rotated.threshold], [2, [b.fingerprint], 1]);
  assert.equal(rotated.sequences, { channels: { stable: 1 }, revocations: 1 });
  assert.is(rotated.expires, '2027-11-23T10:00:00Z', 'a year by default');
  assert.equal(readdirSync(join(tree, 'keys')).sort(), ['root.1.json', 'root.1.json.asc', 'root.2.json', 'root.2.json.asc']);
  // What a host trusting key a as root 1 concludes from it: root 2, key b only.
  const chain = await loadRootChain('demo', [a.trusted], 1, [storedRoot(tree, 2)], now);
  assert.equal([chain.root.version, chain.root.keys.map((k) => k.fingerprint), chain.broken], [2, [b.fingerprint], undefined]);
  // The next rotation reads root 2 from the tree; --current is for the first only.
  await rejectsWithCode(rotateKeys({ tree, current: [a.publicPath], signingKeys: [b.signing], now }), 'usage');
  const third = await rotateKeys({ tree, keepSequences: true, signingKeys: [b.signing], now });
  assert.equal([third.version, third.sequences, JSON.parse(readFileSync(third.file, 'utf8')).sequences], [3, null, undefined]);
}));

test('refuses to rotate below either threshold, with a stray or revoked key, or into an impossible root', () => withTree(async ({ tree, a, b, c }) => {
  const first = { tree, app: 'demo', current: [a.publicPath, b.publicPath], now };
  const oldShort = await rejectsWithCode(rotateKeys({ ...first, currentThreshold: 2, add: [c.publicPath], signingKeys: [a.signing, c.signing] }), 'threshold');
  assert.match(oldShort.message, /root 2 needs 2 signature\(s\) by keys of root 1; --key gives 1/);
  const newShort = await rejectsWithCode(rotateKeys({ ...first, add: [c.publicPath], remove: [a.fingerprint, b.fingerprint], signingKeys: [a.signing] }), 'threshold');
  assert.match(newShort.message, /root 2 needs 1 signature\(s\) by its own keys; --key gives 0/);
  await rejectsWithCode(rotateKeys({ ...first, current: [a.publicPath], signingKeys: [a.signing, c.signing] }), 'usage');
  await rejectsWithCode(rotateKeys({ ...first, remove: [c.fingerprint], signingKeys: [a.signing] }), 'usage');
  await rejectsWithCode(rotateKeys({ ...first, add: [b.publicPath], signingKeys: [a.signing] }), 'usage');
  await rejectsWithCode(rotateKeys({ ...first, threshold: 3, signingKeys: [a.signing, b.signing] }), 'usage');
  await rejectsWithCode(rotateKeys({ tree, signingKeys: [a.signing], now }), 'usage');
  await revokeReleases({ tree, app: 'demo', keys: [c.fingerprint], signingKeys: [a.signing], now });
  await rejectsWithCode(rotateKeys({ ...first, add: [c.publicPath], signingKeys: [a.signing] }), 'revoked');
  assert.not.ok(existsSync(join(tree, 'keys')), 'nothing written');
}));

test('promote re-checks as a host: a key rotated away cannot promote, and its revocations are flagged', () => withTree(async ({ tree, a, b }) => {
  await rotateKeys({ tree, app: 'demo', current: [a.publicPath], add: [b.publicPath], remove: [a.fingerprint], signingKeys: [a.signing, b.signing], now });
  const refused = await rejectsWithCode(promoteChannel({ tree, app: 'demo', channel: 'stable', version: '1.0.0', signingKeys: [a.signing], now }), 'signature');
  assert.match(refused.message, /^hosts would refuse it: no valid signature by a trusted key/);
  assert.is(refused.where.file, join(tree, 'channels', 'stable.json'));
  // The manifest of 1.0.0 is still signed by a only: refused until it is re-signed with b.
  const manifest = await rejectsWithCode(promoteChannel({ tree, app: 'demo', channel: 'stable', version: '1.0.0', signingKeys: [b.signing], now }), 'signature');
  assert.is(manifest.where.file, join(tree, 'releases', '1.0.0', 'manifest.json'));
  await signFiles([join(tree, 'releases', '1.0.0', 'manifest.json')], [b.signing], now);
  const promoted = await promoteChannel({ tree, app: 'demo', channel: 'stable', version: '1.0.0', signingKeys: [b.signing], now });
  assert.equal([promoted.pointer.sequence, promoted.checkedWithRoot], [2, 2]);
  assert.match(promoted.warnings[0]!, /hosts will ignore revocations\.json: no valid signature by a trusted key/);
}));

test('publish sends roots after the releases and before revocations and pointers; a root is never replaced', () => withTree(async ({ work, tree, a, b }) => {
  await rotateKeys({ tree, app: 'demo', current: [a.publicPath], add: [b.publicPath], signingKeys: [a.signing, b.signing], now });
  const mirror = join(work, 'mirror');
  mkdirSync(mirror);
  const order: string[] = [];
  await publishTree({ tree, mirrors: [mirror], writer: { write: async (source, target, expected) => { order.push(target.slice(mirror.length + 1)); await atomicFileWriter.write(source, target, expected); } } });
  const at = (path: string) => order.indexOf(path);
  assert.ok(at('releases/1.0.0/manifest.json') < at('keys/root.1.json.asc'), order.join(', '));
  assert.ok(at('keys/root.2.json.asc') < at('keys/root.2.json'), 'signature first');
  assert.ok(at('keys/root.2.json') < at('revocations.json.asc'), order.join(', '));
  assert.ok(at('keys/root.2.json') < at('channels/stable.json.asc'), order.join(', '));
  writeFileSync(join(mirror, 'keys', 'root.2.json'), readFileSync(join(mirror, 'keys', 'root.2.json'), 'utf8').replace('"threshold": 1', '"threshold": 2'));
  const err = await rejectsWithCode(publishTree({ tree, mirrors: [mirror] }), 'hash');
  assert.match(err.message, /a root is never replaced/);
}));

test('export writes one tar of mirror-tree paths; it refuses what a host would refuse', () => withTree(async ({ work, tree, a, b }) => {
  await rotateKeys({ tree, app: 'demo', current: [a.publicPath], add: [b.publicPath], signingKeys: [a.signing, b.signing], now });
  const out = join(work, 'demo-stable.tar');
  const exported = await exportChannel({ tree, app: 'demo', channel: 'stable', out, now });
  const members: string[] = [];
  await list({ file: out, onReadEntry: (entry) => { members.push(entry.path); } });
  assert.equal(members, exported.paths);
  assert.equal(members, [
    'keys/root.2.json', 'keys/root.2.json.asc', 'revocations.json', 'revocations.json.asc', 'channels/stable.json', 'channels/stable.json.asc',
    'releases/1.0.0/manifest.json', 'releases/1.0.0/manifest.json.asc', 'releases/1.0.0/demo-1.0.0.tar.gz',
    // The tree is exported (the host checks the bundle against it); its objects are not: an export installs from the bundle.
    'releases/1.0.0/tree.json',
  ]);
  await rejectsWithCode(exportChannel({ tree, app: 'demo', channel: 'beta', out, now }), 'usage');
  await rejectsWithCode(exportChannel({ tree, app: 'demo', channel: 'stable', out, now: new Date(now.getTime() + 31 * day) }), 'expired');
}));

test('release status walks the mirrors\' roots, applies revocations, and calls equivocation a refusal', () => withTree(async ({ work, tree, a, b }) => {
  await rotateKeys({ tree, app: 'demo', current: [a.publicPath], add: [b.publicPath], remove: [a.fingerprint], signingKeys: [a.signing, b.signing], now });
  await signFiles([join(tree, 'releases', '1.0.0', 'manifest.json')], [b.signing], now);
  await revokeReleases({ tree, app: 'demo', signingKeys: [b.signing], now });
  await promoteChannel({ tree, app: 'demo', channel: 'stable', version: '1.0.0', signingKeys: [b.signing], now });
  const [m1, m2] = [join(work, 'm1'), join(work, 'm2')];
  mkdirSync(m1);
  mkdirSync(m2);
  await publishTree({ tree, mirrors: [m1, m2] });
  const status = (mirrors: string[]) => mirrorStatus({ mirrors: mirrors.map((m) => pathToFileURL(m).href), keyFiles: [a.publicPath], app: 'demo', now });
  const synced = await status([m1, m2]);
  assert.equal([synced.exitCode, synced.rootVersion, synced.rows.map((r) => [r.valid, r.signers])], [0, 2, [[true, [b.fingerprint]], [true, [b.fingerprint]]]]);
  // 1.0.0 revoked after the channel named it: hosts refuse it.
  await revokeReleases({ tree, app: 'demo', versions: ['1.0.0'], signingKeys: [b.signing], now });
  await publishTree({ tree, mirrors: [m1] });
  const revoked = await status([m1]);
  assert.equal([revoked.exitCode, revoked.rows[0]!.problem?.code], [3, 'revoked']);
  // m2 gets another pointer with sequence 2 (an equivocation): both rows are refused.
  const stable2 = JSON.parse(readFileSync(join(m2, 'channels', 'stable.json'), 'utf8'));
  writeFileSync(join(m2, 'channels', 'stable.json'), JSON.stringify({ ...stable2, expires: '2026-12-24T10:00:00Z' }, null, 2));
  await signFiles([join(m2, 'channels', 'stable.json')], [b.signing], now);
  const split = await mirrorStatus({ mirrors: [m2, m1].map((m) => pathToFileURL(m).href), keyFiles: [a.publicPath], app: 'demo', channels: ['stable'], now });
  assert.is(split.exitCode, 3);
  assert.equal(split.rows.map((r) => [r.problem?.code, r.syncText]), [['equivocation', 'no (equivocation, seq 2)'], ['equivocation', 'no (equivocation, seq 2)']]);
}));

test.run();
