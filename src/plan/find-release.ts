// The fetch half of `tide check` and `tide update`: ask every mirror for the
// channel pointer (and, when it changed or is due, the revocations), keep what
// verifies, pick the highest sequence, then take the manifest the winning pointer
// names from the local cache or a mirror. With a DocumentCache a check where
// nothing changed costs each mirror one conditional request.
import { ExitCode, TideError, isTideError } from '../errors.js';
import { limits } from '../limits.js';
import type { MirrorClient } from '../mirror/mirror-client.js';
import { everyMirrorFailed } from '../mirror/fetch-from-mirrors.js';
import type { ChannelPointer, ReleaseManifest, Revocations } from '../documents/schemas.js';
import { openChannelPointer, openReleaseManifest, openRevocations, type TrustContext } from '../trust/open-signed.js';
import { checkChannelPointer, checkManifest, checkManifestBytes, checkRevocations } from './check-documents.js';
import type { Logger } from '../log/logger.js';
import type { DocumentCache } from '../store/document-cache.js';
import { fetchSigned, fetchSignedIfChanged, openFetched, type FetchedSigned } from './fetch-signed.js';

export interface FindReleaseInput {
  app: string;
  channel: string;
  mirrors: readonly string[];
  client: MirrorClient;
  trust: Omit<TrustContext, 'revokedKeys'>;
  /** Revocations this host already accepted. */
  knownRevocations: { sequence: number | null; versions: string[]; keys: string[] };
  acceptedSequence: number | undefined;
  /** `tide update --version V`: skip the channel pointer and fetch that release's manifest. */
  version?: string;
  logger: Logger;
  /** Verified documents and mirror validators from earlier checks; without it every check fetches everything. */
  cache?: DocumentCache;
  /** Ask for revocations whatever the cache says: before anything is installed. */
  freshRevocations?: boolean;
}

export interface FoundRelease {
  /** The winning pointer; absent with --version. */
  pointer?: ChannelPointer;
  manifest: ReleaseManifest;
  /** Mirrors ordered for downloads: those that served the winning pointer first. */
  mirrors: string[];
  revocations: { sequence: number | null; versions: string[]; keys: string[] };
  /** The revocations were asked for in this run (not taken from an earlier one). */
  revocationsFresh: boolean;
}

type MirrorAnswer<T> = { mirror: string; value: T } | { mirror: string; error: TideError };

async function askEveryMirror<T>(mirrors: readonly string[], ask: (mirror: string) => Promise<T>): Promise<MirrorAnswer<T>[]> {
  return Promise.all(
    mirrors.map(async (mirror) => {
      try {
        return { mirror, value: await ask(mirror) };
      } catch (err) {
        const error = isTideError(err) ? err.at({ mirror }) : new TideError('internal', String((err as Error)?.message ?? err), { mirror });
        return { mirror, error };
      }
    }),
  );
}

async function findRevocations(input: FindReleaseInput): Promise<FoundRelease['revocations']> {
  const known = input.knownRevocations;
  const trust: TrustContext = { ...input.trust, revokedKeys: known.keys };
  const path = 'revocations.json';
  const answers = await askEveryMirror(input.mirrors, async (mirror) => {
    const fetched = await fetchSignedIfChanged(input.client, input.cache, mirror, path);
    const where = { mirror, file: path };
    const { document, signed } = await openFetched(input.client, mirror, path, fetched, async (bytes, asc) => (await openRevocations(bytes, asc, trust, where)).document);
    input.cache?.remember(mirror, path, signed);
    checkRevocations(document, { app: input.app, now: trust.now, acceptedSequence: known.sequence ?? undefined }, where);
    return document;
  });
  let newest: Revocations | undefined;
  for (const answer of answers) {
    if ('error' in answer) {
      // SPEC formats.md#mirror-tree: revocations are optional; a missing file is normal.
      if (answer.error.code !== 'not-found') input.logger.log('warn', { event: 'revocations', message: `ignored revocations: ${answer.error.message} (mirror ${answer.mirror})` });
      continue;
    }
    if (!newest || answer.value.sequence > newest.sequence) newest = answer.value;
  }
  const merged = newest ? mergeRevocations(known, newest) : known;
  // Asked for now; unless no mirror could even be reached, the next cheap check may skip asking.
  if (answers.some((a) => 'value' in a || a.error.exitCode !== ExitCode.unreachable || a.error.code === 'not-found')) {
    input.cache?.acceptRevocations(merged, input.trust.now);
  }
  return merged;
}

// A revocation is never taken back by a later list: keep the union.
function mergeRevocations(known: FoundRelease['revocations'], newest: Revocations): FoundRelease['revocations'] {
  return {
    sequence: Math.max(newest.sequence, known.sequence ?? 0),
    versions: [...new Set([...known.versions, ...newest.versions])].sort(),
    keys: [...new Set([...known.keys, ...newest.keys.map((k) => k.replace(/\s+/g, '').toLowerCase())])].sort(),
  };
}

/**
 * Revocations are asked for when a pointer changed (before a new pointer is trusted),
 * when this host has no cache, and otherwise every limits.revocationsRecheckMs:
 * a no-op check costs each mirror one request, and a revoked key or version that
 * comes without a new pointer is still seen within that time.
 */
function revocationsDue(input: FindReleaseInput, anyChanged: boolean): boolean {
  if (!input.cache || anyChanged || input.freshRevocations) return true;
  const checked = input.cache.revocationsCheckedAt();
  const now = input.trust.now.getTime();
  return checked === null || checked.getTime() > now || now - checked.getTime() >= limits.revocationsRecheckMs;
}

async function verifyPointers(input: FindReleaseInput, trust: TrustContext, fetched: MirrorAnswer<FetchedSigned>[]): Promise<{ pointer: ChannelPointer; winners: string[] }> {
  const path = channelPath(input.channel);
  const answers = await Promise.all(fetched.map(async (answer): Promise<MirrorAnswer<ChannelPointer>> => {
    if ('error' in answer) return answer;
    const { mirror, value } = answer;
    const where = { mirror, file: path };
    try {
      // Fresh or cached, the bytes are verified now: a 304 never bypasses the signature or `expires`.
      const { document, signed } = await openFetched(input.client, mirror, path, value, async (bytes, asc) => (await openChannelPointer(bytes, asc, trust, where)).document);
      input.cache?.remember(mirror, path, signed);
      checkChannelPointer(document, { app: input.app, channel: input.channel, now: trust.now, acceptedSequence: input.acceptedSequence }, where);
      return { mirror, value: document };
    } catch (err) {
      return { mirror, error: isTideError(err) ? err.at(where) : new TideError('internal', String((err as Error)?.message ?? err), where) };
    }
  }));
  const valid = answers.flatMap((a) => ('value' in a ? [a] : []));
  for (const a of answers) if ('error' in a) input.logger.log('warn', { event: 'check', message: `mirror ${a.mirror}: ${a.error.message}` });
  if (valid.length === 0) throw everyMirrorFailed(answers.flatMap((a) => ('error' in a ? [a.error] : [])), path);
  // SPEC formats.md#which-pointer-wins: the valid pointer with the highest sequence wins.
  const best = valid.reduce((a, b) => (b.value.sequence > a.value.sequence ? b : a));
  const winners = valid.filter((a) => a.value.sequence === best.value.sequence && a.value.version === best.value.version).map((a) => a.mirror);
  return { pointer: best.value, winners };
}

/** The manifest the pointer pins by sha256, verified again from the local cache; undefined to fetch it. */
async function cachedManifest(input: FindReleaseInput, trust: TrustContext, pointer: ChannelPointer): Promise<ReleaseManifest | undefined> {
  const cached = input.cache?.readPinned(pointer.manifest.sha256);
  if (!cached) return undefined;
  const where = { file: pointer.manifest.path };
  try {
    checkManifestBytes(cached.bytes, pointer, where);
    const { document } = await openReleaseManifest(cached.bytes, cached.asc, trust, where);
    checkManifest(document, { app: input.app, version: pointer.version }, where);
    return document;
  } catch (err) {
    if (!isTideError(err)) throw err;
    input.logger.log('debug', { event: 'manifest', message: `cached manifest not used: ${err.message}` });
    return undefined;
  }
}

async function findManifest(input: FindReleaseInput, trust: TrustContext, version: string, mirrors: string[], pointer?: ChannelPointer): Promise<ReleaseManifest> {
  const path = pointer?.manifest.path ?? `releases/${version}/manifest.json`;
  const errors: TideError[] = [];
  for (const mirror of mirrors) {
    const where = { mirror, file: path };
    try {
      const signed = await fetchSigned(input.client, mirror, path, pointer ? Math.min(pointer.manifest.size, limits.maxDocumentBytes) : limits.maxDocumentBytes);
      if (pointer) checkManifestBytes(signed.bytes, pointer, where);
      const { document } = await openReleaseManifest(signed.bytes, signed.asc, trust, where);
      checkManifest(document, { app: input.app, version }, where);
      if (pointer) input.cache?.rememberPinned(signed);
      return document;
    } catch (err) {
      if (!isTideError(err)) throw err;
      errors.push(err.at(where));
      input.logger.log('warn', { event: 'manifest', message: `mirror ${mirror}: ${err.message}` });
    }
  }
  throw everyMirrorFailed(errors, path);
}

const channelPath = (channel: string): string => `channels/${channel}.json`;

export async function findRelease(input: FindReleaseInput): Promise<FoundRelease> {
  if (input.version) {
    const revocations = await findRevocations(input);
    const trust: TrustContext = { ...input.trust, revokedKeys: revocations.keys };
    const manifest = await findManifest(input, trust, input.version, [...input.mirrors]);
    return { manifest, mirrors: [...input.mirrors], revocations, revocationsFresh: true };
  }
  // Cheap check: one conditional request per mirror; the rest only when something changed.
  const fetched = await askEveryMirror(input.mirrors, (mirror) => fetchSignedIfChanged(input.client, input.cache, mirror, channelPath(input.channel)));
  const anyChanged = fetched.some((a) => 'value' in a && a.value.changed);
  // Revocations before any pointer is verified: a revoked key must not vouch for a new pointer.
  const revocationsFresh = revocationsDue(input, anyChanged);
  const revocations = revocationsFresh ? await findRevocations(input) : input.knownRevocations;
  const trust: TrustContext = { ...input.trust, revokedKeys: revocations.keys };
  const { pointer, winners } = await verifyPointers(input, trust, fetched);
  const mirrors = [...winners, ...input.mirrors.filter((m) => !winners.includes(m))];
  const manifest = (await cachedManifest(input, trust, pointer)) ?? (await findManifest(input, trust, pointer.version, mirrors, pointer));
  input.cache?.prune(input.mirrors);
  return { pointer, manifest, mirrors, revocations, revocationsFresh };
}
