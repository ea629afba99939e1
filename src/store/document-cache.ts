// <state_dir>/cache/: the bytes and signatures of signed documents this host has
// verified, so a mirror's "304 Not Modified" costs no second request (the .asc)
// and never bypasses verification: the cached bytes are verified again on every
// check, against today's clock, trusted keys and revoked keys.
// Files are named by the sha256 of the document's bytes; `<sha256>.asc` is the
// signature last verified over them. The validators live in state.json.
// SPEC host-layout.md#document-cache: a damaged file is not a hit; it is removed and fetched afresh.
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { channelPointerSchema } from '../documents/schemas.js';
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

/** The cached bytes named `sha256` and their signature, if both are there and the bytes are intact. */
function readSigned(dir: string, sha256: string): SignedBytes | undefined {
  try {
    const bytes = readFileSync(join(dir, sha256));
    // A damaged or half-written file is simply not a cache hit.
    if (sha256Of(bytes) !== sha256) return undefined;
    return { bytes, asc: readFileSync(join(dir, `${sha256}.asc`), 'utf8') };
  } catch {
    return undefined;
  }
}

const documentName = /^[0-9a-f]{64}$/;

export interface CachedSigned extends SignedBytes {
  sha256: string;
}

/** Every intact document in the cache with its signature (verified when cached; verify again before use). */
export function listCachedDocuments(layout: Layout): CachedSigned[] {
  const dir = cacheDir(layout);
  return cacheNames(dir).filter((name) => documentName.test(name)).flatMap((sha256) => {
    const signed = readSigned(dir, sha256);
    return signed ? [{ ...signed, sha256 }] : [];
  });
}

/**
 * SPEC host-layout.md#document-cache: remove what is damaged in the cache (a document whose
 * bytes no longer match its name, with its signature; anything that is not a plain file).
 * Returns the names removed. The next check fetches them afresh.
 */
export function removeDamagedCacheFiles(layout: Layout): string[] {
  const dir = cacheDir(layout);
  const removed: string[] = [];
  for (const name of cacheNames(dir)) {
    const path = join(dir, name);
    const plainFile = lstatSync(path, { throwIfNoEntry: false })?.isFile() ?? true;
    const sha256 = name.replace(/\.asc$/, '');
    const damaged = !plainFile || (documentName.test(name) && sha256Of(readFileSync(path)) !== sha256);
    if (!damaged) continue;
    rmSync(path, { recursive: true, force: true });
    removed.push(name);
    // The signature kept for damaged bytes is of no use.
    if (name === sha256 && cacheNames(dir).includes(`${sha256}.asc`)) {
      rmSync(join(dir, `${sha256}.asc`), { force: true });
    }
  }
  return removed;
}

function cacheNames(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/**
 * The cached pointers with the highest sequence per app and channel. Kept whatever else is
 * pruned: the bytes of the highest pointer this host verified are what a rebuilt state.json
 * takes its accepted sequence from (a replayed older pointer a mirror serves later must
 * not push them out of the cache).
 */
export function highestCachedPointers(documents: readonly CachedSigned[]): Map<string, { sequence: number; sha256: string[] }> {
  const highest = new Map<string, { sequence: number; sha256: string[] }>();
  for (const document of documents) {
    const pointer = pointerIn(document.bytes);
    if (!pointer) continue;
    const key = `${pointer.app} ${pointer.channel}`;
    const best = highest.get(key);
    if (!best || pointer.sequence > best.sequence) highest.set(key, { sequence: pointer.sequence, sha256: [document.sha256] });
    else if (pointer.sequence === best.sequence) best.sha256.push(document.sha256);
  }
  return highest;
}

function pointerIn(bytes: Buffer): { app: string; channel: string; sequence: number } | undefined {
  try {
    const parsed = channelPointerSchema.safeParse(JSON.parse(bytes.toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export function createDocumentCache(layout: Layout): DocumentCache {
  const dir = cacheDir(layout);
  const readSignedHere = (sha256: string) => readSigned(dir, sha256);

  function writeSigned(document: SignedBytes): string {
    const sha256 = sha256Of(document.bytes);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    // The files first, then the state entry naming them: a crash in between leaves an unused file.
    if (readSignedHere(sha256)?.asc !== document.asc) {
      writeFileAtomic(join(dir, sha256), document.bytes);
      writeFileAtomic(join(dir, `${sha256}.asc`), document.asc);
    }
    return sha256;
  }

  return {
    read(mirror, path) {
      const entry = readHostState(layout).conditional[entryKey(mirror, path)];
      if (!entry) return undefined;
      const signed = readSignedHere(entry.sha256);
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
    readPinned: (sha256) => readSignedHere(sha256),
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
        if (key.includes(' channels/')) for (const pin of pinnedBy(readSignedHere(entry.sha256))) keep.add(pin);
      }
      for (const { sha256 } of highestCachedPointers(listCachedDocuments(layout)).values()) for (const name of sha256) keep.add(name);
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
