// Shared fixtures for the release tests: real keys, a real source tree, a real
// release tree. Each test calls these inside its body.
import { mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { generateSigningKey, type GeneratedKey } from '../../src/release/generate-key.js';
import { readSigningKeys, signFiles, type SigningKey } from '../../src/release/sign-files.js';
import { buildRelease } from '../../src/release/build-release.js';
import { readTrustedKeys, type TrustedKey } from '../../src/trust/trusted-keys.js';
import { verifyDetached } from '../../src/trust/verify-signatures.js';

export interface TestKey extends GeneratedKey {
  signing: SigningKey;
  trusted: TrustedKey;
}

/**
 * A real key pair made at `now`: a test that pins its clock makes its keys from the same
 * clock, or a signature at the pinned time would predate the key (and fail on other dates).
 */
export async function makeKey(dir: string, name: string, now = new Date()): Promise<TestKey> {
  mkdirSync(dir, { recursive: true });
  const generated = await generateSigningKey({ name, privatePath: join(dir, `${name}.key.asc`), publicPath: join(dir, `${name}.pub.asc`), now });
  const [signing] = await readSigningKeys([generated.privatePath]);
  const [trusted] = await readTrustedKeys([{ source: generated.publicPath, armored: readFileSync(generated.publicPath, 'utf8') }]);
  return { ...generated, signing: signing!, trusted: trusted! };
}

/** A small app tree: bin/demo (0755), web/index.html (0644), with directories 0755. */
export function makeSourceTree(dir: string, marker = 'v1'): string {
  mkdirSync(join(dir, 'bin'), { recursive: true, mode: 0o755 });
  mkdirSync(join(dir, 'web'), { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'bin', 'demo'), `#!/bin/sh\necho ${marker}\n`, { mode: 0o755 });
  chmodSync(join(dir, 'bin', 'demo'), 0o755);
  writeFileSync(join(dir, 'web', 'index.html'), `<h1>${marker}</h1>\n`, { mode: 0o644 });
  chmodSync(join(dir, 'web', 'index.html'), 0o644);
  return dir;
}

/** Build and sign releases/<version> of app "demo" in `tree`, published and signed at `now`. */
export async function makeSignedRelease(tree: string, work: string, version: string, key: TestKey, now = new Date()): Promise<void> {
  const source = makeSourceTree(join(work, `src-${version}`), version);
  const built = await buildRelease({ tree, app: 'demo', version, sourceDir: source, sourceDateEpoch: 1_700_000_000, now });
  await signFiles([built.manifestFile], [key.signing], now);
}

export const day = 86_400_000;

/** A signed document as a test reads it back: the signature over the raw bytes, then the parse. */
export async function openSigned<T>(
  parse: (bytes: Uint8Array) => T,
  bytes: Uint8Array,
  asc: string,
  trust: { keys: TrustedKey[]; threshold: number; now: Date },
): Promise<{ document: T; signers: string[] }> {
  const { signers } = await verifyDetached({ data: bytes, armoredSignature: asc, ...trust });
  return { document: parse(bytes), signers };
}
