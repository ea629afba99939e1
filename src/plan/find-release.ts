// The fetch half of `tide check` and `tide update`: ask every mirror for the
// revocations and the channel pointer, keep what verifies, pick the highest
// sequence, then fetch the manifest the winning pointer names.
import { TideError, isTideError } from '../errors.js';
import { limits } from '../limits.js';
import type { MirrorClient } from '../mirror/mirror-client.js';
import type { ChannelPointer, ReleaseManifest, Revocations } from '../documents/schemas.js';
import { openChannelPointer, openReleaseManifest, openRevocations, type TrustContext } from '../trust/open-signed.js';
import { checkChannelPointer, checkManifest, checkManifestBytes, checkRevocations } from './check-documents.js';
import type { Logger } from '../log/logger.js';

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
}

export interface FoundRelease {
  /** The winning pointer; absent with --version. */
  pointer?: ChannelPointer;
  manifest: ReleaseManifest;
  /** Mirrors ordered for downloads: those that served the winning pointer first. */
  mirrors: string[];
  revocations: { sequence: number | null; versions: string[]; keys: string[] };
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

async function fetchSigned(client: MirrorClient, mirror: string, path: string, maxBytes = limits.maxDocumentBytes) {
  const [doc, asc] = await Promise.all([
    client.fetchDocument(mirror, path, maxBytes),
    client.fetchDocument(mirror, `${path}.asc`, limits.maxSignatureBytes),
  ]);
  return { bytes: doc.bytes, asc: asc.bytes.toString('utf8') };
}

/** No mirror gave a valid answer: a refusal (exit 3) outranks unreachability (exit 4). */
export function bestFailure(errors: TideError[], what: string): TideError {
  const refusal = errors.find((e) => e.exitCode === 3);
  if (refusal) return refusal;
  const first = errors[0];
  if (!first) return new TideError('unreachable', `no mirror is configured for ${what}`);
  const message = errors.length === 1 ? first.message : `no mirror answered for ${what}: ${errors.map((e) => `${e.where.mirror}: ${e.message}`).join('; ')}`;
  return new TideError(first.code, message, errors.length === 1 ? first.where : { file: first.where.file });
}

async function findRevocations(input: FindReleaseInput): Promise<FoundRelease['revocations']> {
  const known = input.knownRevocations;
  const trust: TrustContext = { ...input.trust, revokedKeys: known.keys };
  const answers = await askEveryMirror(input.mirrors, async (mirror) => {
    const { bytes, asc } = await fetchSigned(input.client, mirror, 'revocations.json');
    const where = { mirror, file: 'revocations.json' };
    const { document } = await openRevocations(bytes, asc, trust, where);
    checkRevocations(document, { app: input.app, now: trust.now, acceptedSequence: known.sequence ?? undefined }, where);
    return document;
  });
  let newest: Revocations | undefined;
  for (const answer of answers) {
    if ('error' in answer) {
      // SPEC Mirror tree: revocations are optional; a missing file is normal.
      if (answer.error.code !== 'not-found') input.logger.log('warn', { event: 'revocations', message: `ignored revocations: ${answer.error.message} (mirror ${answer.mirror})` });
      continue;
    }
    if (!newest || answer.value.sequence > newest.sequence) newest = answer.value;
  }
  if (!newest) return known;
  // A revocation is never taken back by a later list: keep the union.
  return {
    sequence: Math.max(newest.sequence, known.sequence ?? 0),
    versions: [...new Set([...known.versions, ...newest.versions])].sort(),
    keys: [...new Set([...known.keys, ...newest.keys.map((k) => k.replace(/\s+/g, '').toLowerCase())])].sort(),
  };
}

async function findPointer(input: FindReleaseInput, trust: TrustContext): Promise<{ pointer: ChannelPointer; winners: string[] }> {
  const path = `channels/${input.channel}.json`;
  const answers = await askEveryMirror(input.mirrors, async (mirror) => {
    const { bytes, asc } = await fetchSigned(input.client, mirror, path);
    const where = { mirror, file: path };
    const { document } = await openChannelPointer(bytes, asc, trust, where);
    checkChannelPointer(document, { app: input.app, channel: input.channel, now: trust.now, acceptedSequence: input.acceptedSequence }, where);
    return document;
  });
  const valid = answers.flatMap((a) => ('value' in a ? [a] : []));
  for (const a of answers) if ('error' in a) input.logger.log('warn', { event: 'check', message: `mirror ${a.mirror}: ${a.error.message}` });
  if (valid.length === 0) throw bestFailure(answers.flatMap((a) => ('error' in a ? [a.error] : [])), path);
  // SPEC Channel pointer: the valid pointer with the highest sequence wins.
  const best = valid.reduce((a, b) => (b.value.sequence > a.value.sequence ? b : a));
  const winners = valid.filter((a) => a.value.sequence === best.value.sequence && a.value.version === best.value.version).map((a) => a.mirror);
  return { pointer: best.value, winners };
}

async function findManifest(input: FindReleaseInput, trust: TrustContext, version: string, mirrors: string[], pointer?: ChannelPointer): Promise<ReleaseManifest> {
  const path = pointer?.manifest.path ?? `releases/${version}/manifest.json`;
  const errors: TideError[] = [];
  for (const mirror of mirrors) {
    const where = { mirror, file: path };
    try {
      const { bytes, asc } = await fetchSigned(input.client, mirror, path, pointer ? Math.min(pointer.manifest.size, limits.maxDocumentBytes) : limits.maxDocumentBytes);
      if (pointer) checkManifestBytes(bytes, pointer, where);
      const { document } = await openReleaseManifest(bytes, asc, trust, where);
      checkManifest(document, { app: input.app, version }, where);
      return document;
    } catch (err) {
      if (!isTideError(err)) throw err;
      errors.push(err.at(where));
      input.logger.log('warn', { event: 'manifest', message: `mirror ${mirror}: ${err.message}` });
    }
  }
  throw bestFailure(errors, path);
}

export async function findRelease(input: FindReleaseInput): Promise<FoundRelease> {
  const revocations = await findRevocations(input);
  const trust: TrustContext = { ...input.trust, revokedKeys: revocations.keys };
  if (input.version) {
    const manifest = await findManifest(input, trust, input.version, [...input.mirrors]);
    return { manifest, mirrors: [...input.mirrors], revocations };
  }
  const { pointer, winners } = await findPointer(input, trust);
  const mirrors = [...winners, ...input.mirrors.filter((m) => !winners.includes(m))];
  const manifest = await findManifest(input, trust, pointer.version, mirrors, pointer);
  return { pointer, manifest, mirrors, revocations };
}
