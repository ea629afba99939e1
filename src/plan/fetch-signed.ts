// Fetching a signed document and its detached signature from one mirror: plainly,
// or as a cheap check that sends the validators the mirror gave last time, so an
// unchanged document costs one small request ("304 Not Modified") and no .asc.
// Nothing here trusts anything: the caller verifies whatever bytes come back,
// fresh or cached, every time.
import { TideError } from '../errors.js';
import { limits } from '../limits.js';
import type { FetchedDocument, MirrorClient } from '../mirror/mirror-client.js';
import type { DocumentCache, SignedBytes, Validators } from '../store/document-cache.js';

export interface FetchedSigned extends SignedBytes {
  /** False when the mirror serves the bytes this host verified before (a 304, or the same bytes again). */
  changed: boolean;
  /** What to send next time. */
  validators: Validators;
}

/** The document and its signature, both asked for at once. */
export async function fetchSigned(client: MirrorClient, mirror: string, path: string, maxBytes = limits.maxDocumentBytes): Promise<SignedBytes> {
  const [doc, asc] = await Promise.all([
    client.fetchDocument(mirror, path, maxBytes),
    client.fetchDocument(mirror, `${path}.asc`, limits.maxSignatureBytes),
  ]);
  return { bytes: doc.bytes, asc: asc.bytes.toString('utf8') };
}

const validatorsOf = (doc: FetchedDocument): Validators => ({
  ...(doc.etag !== undefined && { etag: doc.etag }),
  ...(doc.lastModified !== undefined && { lastModified: doc.lastModified }),
});

/**
 * A cheap check of one document: a conditional request when this host holds verified
 * bytes from this mirror; the signature is fetched only when the bytes are new.
 */
export async function fetchSignedIfChanged(
  client: MirrorClient,
  cache: DocumentCache | undefined,
  mirror: string,
  path: string,
  maxBytes = limits.maxDocumentBytes,
): Promise<FetchedSigned> {
  const cached = cache?.read(mirror, path);
  const validators = cached && (cached.validators.etag !== undefined || cached.validators.lastModified !== undefined) ? cached.validators : undefined;
  // The document first, its signature only if needed: a missing optional file (revocations.json) costs one request.
  const doc = await client.fetchDocument(mirror, path, maxBytes, validators);
  if (doc.notModified) {
    if (!cached || !validators) throw new TideError('unreachable', 'expected the document, the mirror answered 304 Not Modified to a plain request', { mirror, file: path });
    // SPEC formats.md#sequence-and-expiry: "unchanged" is only the mirror's word; the caller verifies the cached bytes again (expiry included).
    return { bytes: cached.bytes, asc: cached.asc, changed: false, validators: { ...validators, ...validatorsOf(doc) } };
  }
  // The very bytes verified before (a server without validators): the signature over them still applies.
  if (cached && doc.bytes.equals(cached.bytes)) return { bytes: doc.bytes, asc: cached.asc, changed: false, validators: validatorsOf(doc) };
  const asc = await client.fetchDocument(mirror, `${path}.asc`, limits.maxSignatureBytes);
  return { bytes: doc.bytes, asc: asc.bytes.toString('utf8'), changed: true, validators: validatorsOf(doc) };
}

/**
 * Verify fetched bytes with `open`. Unchanged bytes come with the signature kept from
 * last time; when that no longer verifies (a key revoked or no longer trusted since,
 * the file re-signed by a new key) the mirror's current .asc is fetched and tried once.
 */
export async function openFetched<T>(
  client: MirrorClient,
  mirror: string,
  path: string,
  fetched: FetchedSigned,
  open: (bytes: Buffer, asc: string) => Promise<T>,
): Promise<{ document: T; signed: FetchedSigned }> {
  try {
    return { document: await open(fetched.bytes, fetched.asc), signed: fetched };
  } catch (err) {
    if (fetched.changed || !(err instanceof TideError) || (err.code !== 'signature' && err.code !== 'threshold')) throw err;
    const asc = (await client.fetchDocument(mirror, `${path}.asc`, limits.maxSignatureBytes)).bytes.toString('utf8');
    const signed = { ...fetched, asc };
    return { document: await open(fetched.bytes, asc), signed };
  }
}
