// Bytes for the trust store's unit tests: real keys and signatures (openpgp.js), real
// documents, all made from one `now` so no test depends on today's date.
import { createHash } from 'node:crypto';
import { detachSign, makeKey, type TestKey } from '../helpers/keys.js';
import { configRoot, type TrustedRoot } from '../../src/trust/trusted-root.js';
import { TrustStore, type SignedAnswer, type TrustStoreInput } from '../../src/trust/trust-store.js';
import { verifyNextRoot } from '../../src/trust/root-chain.js';

export const now = new Date();
export const day = 86_400_000;
export const inDays = (days: number): string => new Date(now.getTime() + days * day).toISOString();
export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

let made: Promise<TestKey[]> | undefined;
/** Four keys a, b, c, d, made once per test file (inside the first test that asks). */
export function testKeys(): Promise<TestKey[]> {
  made ??= Promise.all(['a', 'b', 'c', 'd'].map((n) => makeKey(n)));
  return made;
}

export const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value, null, 2) + '\n');

export async function signed(bytes: Buffer, signers: TestKey[], mirror?: string): Promise<SignedAnswer> {
  return { bytes, asc: await detachSign(bytes, signers), ...(mirror !== undefined && { mirror }) };
}

export function rootDocument(version: number, keys: TestKey[], threshold = 1, over: Record<string, unknown> = {}): Buffer {
  return json({
    schema: 1, app: 'demo', version, published: now.toISOString(), expires: inDays(365),
    threshold, keys: keys.map((k) => k.publicArmored), ...over,
  });
}

export function manifestDocument(version = '1.1.0', over: Record<string, unknown> = {}): Buffer {
  return json({
    schema: 1, app: 'demo', version, published: now.toISOString(),
    artifacts: [{ type: 'bundle', path: `demo-${version}.tar.gz`, size: 10, sha256: sha256(Buffer.from('0123456789')) }], ...over,
  });
}

export function pointerDocument(sequence: number, manifest: Buffer, over: Record<string, unknown> = {}): Buffer {
  const version = (over.version as string | undefined) ?? '1.1.0';
  return json({
    schema: 1, app: 'demo', channel: 'stable', version, sequence, published: now.toISOString(), expires: inDays(1),
    manifest: { path: `releases/${version}/manifest.json`, size: manifest.length, sha256: sha256(manifest) }, ...over,
  });
}

export function revocationsDocument(sequence: number, over: Record<string, unknown> = {}): Buffer {
  return json({ schema: 1, app: 'demo', sequence, published: now.toISOString(), expires: inDays(1), versions: [], keys: [], ...over });
}

/** A store for app demo, channel stable, trusting `root` (default: root 1 = key a, threshold 1). */
export async function storeFor(over: Partial<TrustStoreInput> = {}): Promise<TrustStore> {
  const [a] = await testKeys();
  return new TrustStore({
    app: 'demo', channel: 'stable', now, root: configRoot('demo', [a!.trusted], 1),
    accepted: {}, revocations: { sequence: null, versions: [], keys: [] }, ...over,
  });
}

export const rootOf = (keys: TestKey[], threshold = 1): TrustedRoot => configRoot('demo', keys.map((k) => k.trusted), threshold);

/** Root `previous.version + 1` as a trusted root (for tests that start from a rotated chain). */
export async function nextRoot(previous: TrustedRoot, keys: TestKey[], threshold: number, signers: TestKey[], over: Record<string, unknown> = {}): Promise<TrustedRoot> {
  const bytes = rootDocument(previous.version + 1, keys, threshold, over);
  return verifyNextRoot(previous, bytes, await detachSign(bytes, signers), { app: 'demo', revokedKeys: [], now, where: {} });
}

/** Walk the roots with nothing new, take no revocations: the store waits for the pointer. */
export function skipToPointer(store: TrustStore): TrustStore {
  store.finishRoots();
  store.settleRevocations();
  return store;
}
