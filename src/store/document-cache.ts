// <state_dir>/cache/: the bytes and signatures of signed documents this host has
// verified, so a mirror's "304 Not Modified" costs no second request (the .asc)
// and never bypasses verification: the cached bytes are verified again on every
// check, against today's clock, trusted keys and revoked keys.
// Files are named by the sha256 of the document's bytes; `<sha256>.asc` is the
// signature last verified over them. The validators live in state.json.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic.js';
import { readHostState, updateHostState, type ConditionalCache } from './host-state.js';
import type { Layout } from './layout.js';

export interface Validators {
  etag?: string;
  lastModified?: string;
}

/** Bytes and the armored signature that verified over them. */
export interface SignedBytes {
  bytes: Buffer;
  asc: string;
}

export interface CachedDocument extends SignedBytes {
  validators: Validators;
}

export interface AcceptedRevocations {
  sequence: number | null;
  versions: string[];
  keys: string[];
}

export interface DocumentCache {
  /** What `mirror` last served for `path`, if its bytes and signature are still here intact. */
  read(mirror: string, path: string): CachedDocument | undefined;
  /** Remember bytes whose signature verified, with the validators the mirror sent. */
  remember(mirror: string, path: string, document: CachedDocument): void;
  /** A document pinned by hash elsewhere (a manifest named by a verified pointer). */
  readPinned(sha256: string): SignedBytes | undefined;
  rememberPinned(document: SignedBytes): void;
  /** When revocations.json was last asked for, or null. */
  revocationsCheckedAt(): Date | null;
  /** Persist revocations just asked for, and when: a later check may skip asking again for a while. */
  acceptRevocations(revocations: AcceptedRevocations, at: Date): void;
  /** Forget mirrors no longer configured and files nothing refers to. */
  prune(mirrors: readonly string[]): void;
}

const sha256Of = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const entryKey = (mirror: string, path: string): string => `${mirror} ${path}`;

export function cacheDir(layout: Layout): string {
  return join(layout.stateDir, 'cache');
}

export function createDocumentCache(layout: Layout): DocumentCache {
  const dir = cacheDir(layout);

  function readSigned(sha256: string): SignedBytes | undefined {
    try {
      const bytes = readFileSync(join(dir, sha256));
      // A damaged or half-written file is simply not a cache hit.
      if (sha256Of(bytes) !== sha256) return undefined;
      return { bytes, asc: readFileSync(join(dir, `${sha256}.asc`), 'utf8') };
    } catch {
      return undefined;
    }
  }

  function writeSigned(document: SignedBytes): string {
    const sha256 = sha256Of(document.bytes);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    // The files first, then the state entry naming them: a crash in between leaves an unused file.
    if (readSigned(sha256)?.asc !== document.asc) {
      writeFileAtomic(join(dir, sha256), document.bytes);
      writeFileAtomic(join(dir, `${sha256}.asc`), document.asc);
    }
    return sha256;
  }

  return {
    read(mirror, path) {
      const entry = readHostState(layout).conditional[entryKey(mirror, path)];
      if (!entry) return undefined;
      const signed = readSigned(entry.sha256);
      return signed && { ...signed, validators: validatorsOf(entry) };
    },
    remember(mirror, path, document) {
      const sha256 = writeSigned(document);
      const entry: ConditionalCache = { ...validatorsOf(document.validators), sha256 };
      const key = entryKey(mirror, path);
      const known = readHostState(layout).conditional[key];
      if (known && JSON.stringify(validatorsOf(known)) === JSON.stringify(validatorsOf(entry)) && known.sha256 === sha256) return;
      updateHostState(layout, (state) => { state.conditional[key] = entry; });
    },
    readPinned: (sha256) => readSigned(sha256),
    rememberPinned(document) {
      writeSigned(document);
    },
    revocationsCheckedAt() {
      const at = readHostState(layout).revocationsChecked;
      return at === null ? null : new Date(at);
    },
    acceptRevocations(revocations, at) {
      updateHostState(layout, (state) => {
        state.revocations = revocations;
        state.revocationsChecked = at.toISOString();
      });
    },
    prune(mirrors) {
      const state = readHostState(layout);
      const stale = Object.keys(state.conditional).filter((key) => !mirrors.some((m) => key.startsWith(`${m} `)));
      if (stale.length > 0) updateHostState(layout, (s) => { for (const key of stale) delete s.conditional[key]; });
      const kept = Object.entries(state.conditional).filter(([key]) => !stale.includes(key));
      const keep = new Set(kept.map(([, entry]) => entry.sha256));
      // A cached channel pointer keeps the manifest it pins.
      for (const [key, entry] of kept) {
        if (key.includes(' channels/')) for (const pin of pinnedBy(readSigned(entry.sha256))) keep.add(pin);
      }
      removeUnreferenced(dir, keep);
    },
  };
}

function validatorsOf(source: Validators): Validators {
  return {
    ...(source.etag !== undefined && { etag: source.etag }),
    ...(source.lastModified !== undefined && { lastModified: source.lastModified }),
  };
}

/** The manifest sha256 a cached (already verified) pointer names. */
function pinnedBy(pointer: SignedBytes | undefined): string[] {
  if (!pointer) return [];
  try {
    const sha256 = (JSON.parse(pointer.bytes.toString('utf8')) as { manifest?: { sha256?: unknown } }).manifest?.sha256;
    return typeof sha256 === 'string' ? [sha256] : [];
  } catch {
    return [];
  }
}

function removeUnreferenced(dir: string, keep: ReadonlySet<string>): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const sha256 = name.replace(/\.asc$/, '');
    if (!keep.has(sha256)) rmSync(join(dir, name), { force: true });
  }
}
