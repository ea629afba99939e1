// The fetch half of `tide check` and `tide update`: ask every mirror for the channel
// pointer (and, when it changed or is due, the next roots and the revocations), hand
// every answer to the trust store, then take the manifest the trusted pointer names
// from the local cache or a mirror. The store makes every trust decision; this
// module only fetches, caches and orders mirrors. With a DocumentCache a check where
// nothing changed costs each mirror one conditional request.
import { ExitCode, TideError, isTideError } from '../errors.js';
import { limits } from '../limits.js';
import type { MirrorClient } from '../mirror/mirror-client.js';
import { everyMirrorFailed } from '../mirror/fetch-from-mirrors.js';
import type { ChannelPointer, ReleaseManifest } from '../documents/schemas.js';
import type { Logger } from '../log/logger.js';
import type { DocumentCache } from '../store/document-cache.js';
import { channelPath, type TrustStore } from '../trust/trust-store.js';
import type { AcceptedRevocations } from '../trust/accepted-facts.js';
import type { TrustedRoot } from '../trust/trusted-root.js';
import { askEveryMirror, type MirrorAnswer } from './ask-mirrors.js';
import { fetchSigned, fetchSignedIfChanged, openFetched, type FetchedSigned } from './fetch-signed.js';
import { walkRoots } from './walk-roots.js';
import { takesFallback, type RolloutHost } from './rollout.js';

export interface FindReleaseInput {
  mirrors: readonly string[];
  client: MirrorClient;
  /** Fresh for this run: the host's trusted root and remembered facts, one `now`. */
  store: TrustStore;
  /** Persist a root the store accepted (before the next one is asked for). */
  saveRoot(root: TrustedRoot): void;
  /** `tide update --version V`: skip the channel pointer and fetch that release's manifest. */
  version?: string;
  logger: Logger;
  /** Verified documents and mirror validators from earlier checks; without it every check fetches everything. */
  cache?: DocumentCache;
  /** Ask for roots and revocations whatever the cache says: before anything is installed. */
  freshRevocations?: boolean;
  /** SPEC formats.md#rollout-fallback: who asks, to take the pointer's fallback when outside its rollout. */
  host?: RolloutHost;
}

export interface FoundRelease {
  /** The winning pointer; absent with --version. */
  pointer?: ChannelPointer;
  manifest: ReleaseManifest;
  /** Mirrors ordered for downloads: those that served the winning pointer first. */
  mirrors: string[];
  revocations: AcceptedRevocations;
  /** The revocations (and the next roots) were asked for in this run. */
  revocationsFresh: boolean;
  /** The manifest is the pointer's fallback: this host is outside the rollout of `pointer.version`. */
  fallback: boolean;
}

const revocationsPath = 'revocations.json';

/** Ask every mirror for revocations.json, offer each to the store, merge the newest. */
export async function findRevocations(input: Pick<FindReleaseInput, 'mirrors' | 'client' | 'store' | 'logger' | 'cache'>): Promise<AcceptedRevocations> {
  const { store } = input;
  const answers = await askEveryMirror(input.mirrors, async (mirror) => {
    const fetched = await fetchSignedIfChanged(input.client, input.cache, mirror, revocationsPath);
    const { signed } = await openFetched(input.client, mirror, revocationsPath, fetched, (bytes, asc) => store.offerRevocations({ mirror, bytes, asc }));
    input.cache?.remember(mirror, revocationsPath, signed);
  });
  for (const answer of answers) {
    // SPEC formats.md#mirror-tree: revocations are optional; a missing file is normal.
    if ('error' in answer && answer.error.code !== 'not-found') {
      input.logger.log('warn', { event: 'revocations', message: `ignored revocations: ${answer.error.message} (mirror ${answer.mirror})` });
    }
  }
  const merged = store.settleRevocations();
  // Asked for now; unless no mirror could even be reached, the next cheap check may skip asking.
  if (answers.some((a) => 'value' in a || a.error.exitCode !== ExitCode.unreachable || a.error.code === 'not-found')) {
    input.cache?.acceptRevocations(merged, store.now);
  }
  return merged;
}

/**
 * Roots and revocations are asked for when a pointer changed (before a new pointer is
 * trusted), when this host has no cache, when the newest root has expired, and
 * otherwise every limits.revocationsRecheckMs: a no-op check costs each mirror one
 * request, and a rotation or revocation that comes without a new pointer is still
 * seen within that time.
 */
function rootsAndRevocationsDue(input: FindReleaseInput, anyChanged: boolean): boolean {
  if (!input.cache || anyChanged || input.freshRevocations) return true;
  const now = input.store.now.getTime();
  const expires = input.store.trustedRoot.expires;
  if (expires !== null && Date.parse(expires) <= now) return true;
  const checked = input.cache.revocationsCheckedAt();
  return checked === null || checked.getTime() > now || now - checked.getTime() >= limits.revocationsRecheckMs;
}

/** Offer every mirror's pointer to the store (cached bytes verified again), then let it pick. */
async function trustedPointer(input: FindReleaseInput, fetched: MirrorAnswer<FetchedSigned>[]): Promise<{ pointer: ChannelPointer; winners: string[] }> {
  const path = channelPath(input.store.channel);
  const failures: TideError[] = [];
  await Promise.all(fetched.map(async (answer) => {
    if ('error' in answer) {
      failures.push(answer.error);
      input.logger.log('warn', { event: 'check', message: `mirror ${answer.mirror}: ${answer.error.message}` });
      return;
    }
    const { mirror, value } = answer;
    try {
      // Fresh or cached, the bytes are verified now: a 304 never bypasses the signature or `expires`.
      const { signed } = await openFetched(input.client, mirror, path, value, (bytes, asc) => input.store.offerPointer({ mirror, bytes, asc }));
      input.cache?.remember(mirror, path, signed);
    } catch (err) {
      if (!isTideError(err)) throw err;
      input.logger.log('warn', { event: 'check', message: `mirror ${mirror}: ${err.message}` });
    }
  }));
  const settled = input.store.settlePointer(failures);
  // In the config's order, not the order the signatures happened to verify in: the
  // operator lists mirrors by preference, and downloads try them in that order.
  return { pointer: settled.pointer, winners: input.mirrors.filter((m) => settled.mirrors.includes(m)) };
}

/** The manifest the pointer pins by sha256, from the local cache (verified again); undefined to fetch it. */
async function cachedManifest(input: FindReleaseInput): Promise<ReleaseManifest | undefined> {
  const { sha256 } = input.store.wantedManifest();
  const cached = sha256 === undefined ? undefined : input.cache?.readPinned(sha256);
  if (!cached) return undefined;
  try {
    return await input.store.acceptManifest(cached);
  } catch (err) {
    if (!isTideError(err)) throw err;
    input.logger.log('debug', { event: 'manifest', message: `cached manifest not used: ${err.message}` });
    return undefined;
  }
}

async function findManifest(input: FindReleaseInput, mirrors: readonly string[]): Promise<ReleaseManifest> {
  const wanted = input.store.wantedManifest();
  const errors: TideError[] = [];
  for (const mirror of mirrors) {
    try {
      const signed = await fetchSigned(input.client, mirror, wanted.path, wanted.maxBytes);
      const manifest = await input.store.acceptManifest({ mirror, ...signed });
      if (wanted.sha256) input.cache?.rememberPinned(signed);
      return manifest;
    } catch (err) {
      if (!isTideError(err)) throw err;
      errors.push(err.at({ mirror, file: wanted.path }));
      input.logger.log('warn', { event: 'manifest', message: `mirror ${mirror}: ${err.message}` });
    }
  }
  throw everyMirrorFailed(errors, wanted.path);
}

export async function findRelease(input: FindReleaseInput): Promise<FoundRelease> {
  const { store } = input;
  if (input.version) {
    await walkRoots(input);
    store.finishRoots();
    const revocations = await findRevocations(input);
    store.pinVersion(input.version);
    const manifest = await findManifest(input, input.mirrors);
    return { manifest, mirrors: [...input.mirrors], revocations, revocationsFresh: true, fallback: false };
  }
  // Cheap check: one conditional request per mirror; the rest only when something changed.
  const fetched = await askEveryMirror(input.mirrors, (mirror) => fetchSignedIfChanged(input.client, input.cache, mirror, channelPath(store.channel)));
  const anyChanged = fetched.some((a) => 'value' in a && a.value.changed);
  // Roots, then revocations, before any pointer is trusted: a rotated or revoked key must not vouch for it.
  const fresh = rootsAndRevocationsDue(input, anyChanged);
  if (fresh) await walkRoots(input);
  store.finishRoots();
  const revocations = fresh ? await findRevocations(input) : store.settleRevocations();
  const { pointer, winners } = await trustedPointer(input, fetched);
  const mirrors = [...winners, ...input.mirrors.filter((m) => !winners.includes(m))];
  const fallback = input.host !== undefined && takesFallback(pointer, input.host, revocations.versions);
  if (fallback) {
    const taken = store.wantFallback();
    input.logger.log('info', { event: 'check', message: `outside the rollout of ${pointer.version} (${pointer.rollout?.percent ?? 100}%): taking its fallback ${taken.version}` });
  }
  const manifest = (await cachedManifest(input)) ?? (await findManifest(input, mirrors));
  input.cache?.prune(input.mirrors);
  return { pointer, manifest, mirrors, revocations, revocationsFresh: fresh, fallback };
}
