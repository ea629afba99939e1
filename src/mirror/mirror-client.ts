// The narrow interface between the update and its untrusted mirrors: raw bytes
// of small documents (verified later by src/trust), and artifacts written to
// disk only once their signed size and sha256 match. create-mirror-client.ts makes one.
import { limits } from '../limits.js';

export interface FetchedDocument {
  /** The raw bytes, exactly as served (signatures are checked over these). Empty when not modified. */
  bytes: Buffer;
  /** Validators to send next time for a cheap no-op check. */
  etag?: string;
  lastModified?: string;
  /** The mirror answered "304 Not Modified" to the validators we sent. */
  notModified?: boolean;
}

/** Validators from an earlier answer of the same mirror. */
export interface ConditionalRequest {
  etag?: string;
  lastModified?: string;
}

/** What the signed document says an artifact is. */
export interface ExpectedArtifact {
  size: number;
  /** Lowercase hex. */
  sha256: string;
  /**
   * Fsync the file before it takes its name (the default). A bundle is extracted and
   * deleted right away, and a kept artifact is hashed again before any use, so a
   * bundle's bytes need not reach the disk: writing them there costs the sync of the
   * staged tree its bandwidth.
   */
  durable?: boolean;
}

export type ProgressListener = (bytes: number, total: number) => void;

/** A content-addressed object's body as served (gzip), capped; verified by whoever inflates it. */
export interface ObjectBody {
  /** At most the cap's bytes: one more and iterating throws TideError('size'). */
  chunks: AsyncIterable<Buffer>;
  /** Stop reading and drop the connection. Safe to call twice. */
  close(): void;
}

export interface MirrorClient {
  /** Fetch a document of at most `maxBytes` (refused with 'size' as soon as it is known to be larger). */
  fetchDocument(mirror: string, path: string, maxBytes: number, conditional?: ConditionalRequest): Promise<FetchedDocument>;
  /**
   * Download to `dest` through `dest + '.part'`, resuming a leftover part, never reading past
   * `expect.size`; `dest` appears (renamed, fsynced) only when size and sha256 match.
   */
  downloadArtifact(
    mirror: string,
    path: string,
    expect: ExpectedArtifact,
    dest: string,
    onProgress?: ProgressListener,
  ): Promise<void>;
  /**
   * SPEC formats.md#the-tree-artifact: open objects/<..>/<sha256>.gz with a plain GET (no Range), at most
   * `maxBytes` of it. Absent on a client that cannot serve objects (an export file): no delta there.
   */
  fetchObject?(mirror: string, path: string, maxBytes: number): Promise<ObjectBody>;
}

/** Timeouts and limits of mirror transfers; tests inject small values. */
export interface MirrorOptions {
  connectTimeoutMs: number;
  stallTimeoutMs: number;
  documentDeadlineMs: number;
  minBytesPerSecond: number;
  minRateGraceMs: number;
  maxRedirects: number;
}

export const defaultMirrorOptions: MirrorOptions = {
  connectTimeoutMs: limits.connectTimeoutMs,
  stallTimeoutMs: limits.stallTimeoutMs,
  documentDeadlineMs: limits.documentDeadlineMs,
  minBytesPerSecond: limits.minBytesPerSecond,
  minRateGraceMs: limits.minRateGraceMs,
  maxRedirects: limits.maxRedirects,
};
