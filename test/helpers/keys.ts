// Real OpenPGP keys and signatures for tests (openpgp.js; v4 ed25519 as tide release keygen makes).
import { createMessage, generateKey, readPrivateKey, sign, type PrivateKey } from 'openpgp';
import { readTrustedKeys, type TrustedKey } from '../../src/trust/trusted-keys.js';

export interface TestKey {
  privateKey: PrivateKey;
  publicArmored: string;
  privateArmored: string;
  trusted: TrustedKey;
  fingerprint: string;
}

export async function makeKey(name = 'release'): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name, email: `${name}@example.test` }],
    format: 'armored',
  });
  const key = await readPrivateKey({ armoredKey: privateKey });
  const [trusted] = await readTrustedKeys([{ source: `${name}.pub.asc`, armored: publicKey }]);
  return { privateKey: key, publicArmored: publicKey, privateArmored: privateKey, trusted: trusted!, fingerprint: trusted!.fingerprint };
}

export async function detachSign(data: Uint8Array | string, keys: TestKey[], date?: Date): Promise<string> {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const message = await createMessage({ binary: bytes });
  return (await sign({ message, signingKeys: keys.map((k) => k.privateKey), detached: true, format: 'armored', date })) as string;
}
