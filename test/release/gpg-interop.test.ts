// Real GnuPG 2.2 in a temp GNUPGHOME: tide's keys and signatures must work with
// gpg, and gpg's (ed25519 and RSA-3072) must verify in tide.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { signFiles } from '../../src/release/sign-files.js';
import { readTrustedKeys } from '../../src/trust/trusted-keys.js';
import { verifyDetached } from '../../src/trust/verify-signatures.js';
import { rejectsWithCode } from '../helpers/assert-error.js';
import { tempDir } from '../helpers/tmp.js';
import { makeKey } from './release-fixtures.js';

function gnupgHome(tmp: string): { gpg: (...args: string[]) => string; stop: () => void } {
  const home = join(tmp, 'gnupg');
  mkdirSync(home);
  chmodSync(home, 0o700);
  const gpg = (...args: string[]) =>
    execFileSync('gpg', ['--batch', '--homedir', home, '--pinentry-mode', 'loopback', '--passphrase', '', ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const stop = () => { spawnSync('gpgconf', ['--homedir', home, '--kill', 'all']); };
  return { gpg, stop };
}

test('gpg imports a tide key and verifies a tide signature', async () => {
  const tmp = tempDir();
  const { gpg, stop } = gnupgHome(tmp.path);
  try {
    const key = await makeKey(join(tmp.path, 'keys'), 'tide');
    gpg('--import', key.publicPath);
    const listing = gpg('--with-colons', '--list-keys', key.fingerprint);
    assert.match(listing, new RegExp(`fpr:+${key.fingerprint.toUpperCase()}:`));
    assert.match(listing, /^pub:[^:]*:255:22:/m, 'EdDSA (algorithm 22), 255 bits');
    const file = join(tmp.path, 'channels-alpha.json');
    writeFileSync(file, '{"schema":1,"channel":"alpha"}\n');
    await signFiles([file], [key.signing]);
    const verified = spawnSync('gpg', ['--batch', '--homedir', join(tmp.path, 'gnupg'), '--status-fd', '1', '--verify', `${file}.asc`, file], { encoding: 'utf8' });
    assert.is(verified.status, 0, verified.stderr);
    assert.match(verified.stdout, new RegExp(`VALIDSIG ${key.fingerprint.toUpperCase()}`));
    writeFileSync(file, '{"schema":1,"channel":"beta"}\n');
    const tampered = spawnSync('gpg', ['--batch', '--homedir', join(tmp.path, 'gnupg'), '--verify', `${file}.asc`, file], { encoding: 'utf8' });
    assert.is.not(tampered.status, 0, 'gpg refuses tampered bytes');
  } finally {
    stop();
    tmp.cleanup();
  }
});

test('gpg verifies both signatures of a threshold-signed .asc', async () => {
  const tmp = tempDir();
  const { gpg, stop } = gnupgHome(tmp.path);
  try {
    const a = await makeKey(join(tmp.path, 'keys'), 'a');
    const b = await makeKey(join(tmp.path, 'keys'), 'b');
    gpg('--import', a.publicPath, b.publicPath);
    const file = join(tmp.path, 'doc');
    writeFileSync(file, 'threshold');
    await signFiles([file], [a.signing, b.signing]);
    const out = gpg('--status-fd', '1', '--verify', `${file}.asc`, file);
    assert.match(out, new RegExp(`VALIDSIG ${a.fingerprint.toUpperCase()}`));
    assert.match(out, new RegExp(`VALIDSIG ${b.fingerprint.toUpperCase()}`));
  } finally {
    stop();
    tmp.cleanup();
  }
});

for (const algorithm of ['ed25519', 'rsa3072']) {
  test(`a file signed by gpg with an ${algorithm} key verifies in tide`, async () => {
    const tmp = tempDir();
    const { gpg, stop } = gnupgHome(tmp.path);
    try {
      const uid = `release-${algorithm} <release@example.org>`;
      gpg('--quick-gen-key', uid, algorithm, 'sign', 'never');
      const armored = gpg('--armor', '--export', uid);
      const keys = await readTrustedKeys([{ source: `gpg ${algorithm}`, armored }]);
      assert.is(keys.length, 1);
      const file = join(tmp.path, 'manifest.json');
      writeFileSync(file, '{"schema":1,"app":"demo"}\n');
      gpg('--local-user', keys[0]!.fingerprint, '--detach-sign', '--armor', '--output', `${file}.asc`, file);
      const check = { armoredSignature: readFileSync(`${file}.asc`, 'utf8'), keys, threshold: 1, now: new Date() };
      const { signers } = await verifyDetached({ ...check, data: readFileSync(file) });
      assert.equal(signers, [keys[0]!.fingerprint]);
      await rejectsWithCode(verifyDetached({ ...check, data: Buffer.from('{"schema":1,"app":"evil"}\n') }), 'signature');
    } finally {
      stop();
      tmp.cleanup();
    }
  });
}

test.run();
