// The http(s) mirror client, on got. Every request: no retries (the caller moves
// on to the next mirror), no decompression (size caps count bytes on the wire), a
// few redirects and only to http(s), a connect timeout, and a watchdog on the body.
import { STATUS_CODES, type IncomingHttpHeaders } from 'node:http';
import got, { MaxRedirectsError, TimeoutError, type PlainResponse } from 'got';
import { TideError, type ErrorPlace } from '../errors.js';
import { downloadVerified, type ArtifactPart } from './artifact-part.js';
import type { ConditionalRequest, FetchedDocument, MirrorClient, MirrorOptions } from './mirror-client.js';
import { mirrorHttpUrl } from './mirror-path.js';
import { cappedChunks, guardTransfer, readCappedDocument, type GuardLimits } from './transfer-limits.js';

interface OpenTransfer {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body, watched by the guard; a broken limit or a network error surfaces here as a TideError. */
  body: AsyncIterable<Buffer>;
  /** Stop reading and drop the connection. Safe to call twice. */
  close(): void;
}

type Where = { mirror: string; file: string };

/** A redirect is followed only to http(s), and never from https down to http. */
export function redirectAllowed(from: string, location: string | undefined): boolean {
  try {
    const target = new URL(location ?? '', from);
    return target.protocol === 'https:' || (target.protocol === 'http:' && new URL(from).protocol === 'http:');
  } catch {
    return false;
  }
}

const followHttpRedirect = (response: PlainResponse): boolean => redirectAllowed(response.url, response.headers.location);

function asMirrorError(err: unknown, where: ErrorPlace, options: MirrorOptions): TideError {
  if (err instanceof TideError) return err;
  if (err instanceof TimeoutError) {
    return new TideError('timeout', `expected a connection within ${options.connectTimeoutMs} ms, timed out (${err.event})`, where, { cause: err });
  }
  if (err instanceof MaxRedirectsError) {
    return new TideError('unreachable', `expected at most ${options.maxRedirects} redirects, got more`, where, { cause: err });
  }
  const code = (err as { code?: string }).code;
  const message = err instanceof Error ? err.message : String(err);
  return new TideError('unreachable', `expected an answer, got ${code ? `${code}: ` : ''}${message}`, where, { cause: err });
}

async function openTransfer(url: string, headers: Record<string, string>, guardLimits: GuardLimits, options: MirrorOptions, where: Where): Promise<OpenTransfer> {
  const connect = options.connectTimeoutMs;
  const request = got.stream(url, {
    headers: { 'accept-encoding': 'identity', 'user-agent': 'tide', ...headers },
    decompress: false,
    retry: { limit: 0 },
    throwHttpErrors: false,
    followRedirect: followHttpRedirect,
    maxRedirects: options.maxRedirects,
    timeout: { lookup: connect, connect, secureConnect: connect },
  });
  let tripped: TideError | undefined;
  const guard = guardTransfer(guardLimits, where, (err) => {
    tripped = err;
    request.destroy(err);
  });
  const failure = (err: unknown): TideError => {
    guard.stop();
    return tripped ?? asMirrorError(err, where, options);
  };
  // Errors reach the awaits below; an 'error' event between them must not go unhandled.
  request.on('error', () => {});
  let response: PlainResponse;
  try {
    response = await new Promise<PlainResponse>((resolve, reject) => {
      request.once('response', resolve);
      request.once('error', reject);
    });
  } catch (err) {
    throw failure(err);
  }
  async function* body(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of request) {
        guard.received((chunk as Buffer).length);
        yield chunk as Buffer;
      }
    } catch (err) {
      throw failure(err);
    } finally {
      guard.stop();
    }
  }
  const close = (): void => {
    guard.stop();
    request.destroy();
  };
  return { status: response.statusCode, headers: response.headers, body: body(), close };
}

function expectStatus(transfer: OpenTransfer, expected: number, where: Where): void {
  const { status, headers } = transfer;
  if (status === expected) return;
  if (status === 404 || status === 410) {
    throw new TideError('not-found', `expected the file, the mirror answers ${status} ${STATUS_CODES[status]}`, where);
  }
  if (status >= 300 && status < 400 && headers.location) {
    throw new TideError('unreachable', `expected the file, got a redirect to ${headers.location} (followed only to http(s), never from https to http)`, where);
  }
  throw new TideError('unreachable', `expected HTTP ${expected}, got ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd(), where);
}

function announcedLength(headers: IncomingHttpHeaders): number | undefined {
  const value = headers['content-length'];
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

function validatorsOf(headers: IncomingHttpHeaders, sent: ConditionalRequest = {}): ConditionalRequest {
  const etag = headers.etag ?? sent.etag;
  const lastModified = headers['last-modified'] ?? sent.lastModified;
  return { ...(etag !== undefined && { etag }), ...(lastModified !== undefined && { lastModified }) };
}

/**
 * The validators of a full response, kept for the next cheap check only when they can
 * tell two versions of the file apart (RFC 9110, 8.8.2.2). A Last-Modified less than
 * 2 s before the response's Date is implicitly weak: the file may be replaced again
 * within that second, and static servers derive the ETag from the same mtime (nginx:
 * mtime-size), so a new pointer of the same size would be answered "304 Not Modified"
 * and the host would keep the old one. Such a response is fetched in full next time.
 */
export function lastingValidators(headers: IncomingHttpHeaders, now: () => number = Date.now): ConditionalRequest {
  const lastModified = Date.parse(headers['last-modified'] ?? '');
  if (!Number.isNaN(lastModified)) {
    const served = Date.parse(headers.date ?? '');
    if ((Number.isNaN(served) ? now() : served) - lastModified < 2_000) return {};
  }
  return validatorsOf(headers);
}

function validatorHeaders(conditional: ConditionalRequest | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (conditional?.etag) headers['if-none-match'] = conditional.etag;
  if (conditional?.lastModified) headers['if-modified-since'] = conditional.lastModified;
  return headers;
}

// A 206 continues the part only if it starts where the part ends and is the signed file's tail.
function rangeContinues(headers: IncomingHttpHeaders, offset: number, size: number): boolean {
  const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(headers['content-range'] ?? '');
  if (!range) return false;
  return Number(range[1]) === offset && Number(range[2]) === size - 1 && (range[3] === '*' || Number(range[3]) === size);
}

export function createHttpMirrorClient(options: MirrorOptions): MirrorClient {
  const documentLimits: GuardLimits = { stallTimeoutMs: options.stallTimeoutMs, deadlineMs: options.documentDeadlineMs };
  const artifactLimits: GuardLimits = {
    stallTimeoutMs: options.stallTimeoutMs,
    minBytesPerSecond: options.minBytesPerSecond,
    minRateGraceMs: options.minRateGraceMs,
  };

  async function fetchDocument(mirror: string, path: string, maxBytes: number, conditional?: ConditionalRequest): Promise<FetchedDocument> {
    const where = { mirror, file: path };
    const transfer = await openTransfer(mirrorHttpUrl(mirror, path), validatorHeaders(conditional), documentLimits, options, where);
    try {
      if (transfer.status === 304 && conditional) {
        return { bytes: Buffer.alloc(0), notModified: true, ...validatorsOf(transfer.headers, conditional) };
      }
      expectStatus(transfer, 200, where);
      const announced = announcedLength(transfer.headers);
      if (announced !== undefined && announced > maxBytes) {
        throw new TideError('size', `expected a document of at most ${maxBytes} bytes, the mirror announces ${announced}`, where);
      }
      const bytes = await readCappedDocument(transfer.body, maxBytes, where);
      return { bytes, ...lastingValidators(transfer.headers) };
    } finally {
      transfer.close();
    }
  }

  function fillFrom(url: string, where: Where) {
    return async function fill(part: ArtifactPart): Promise<void> {
      const { size } = part.expect;
      const resumeAt = part.offset;
      const range: Record<string, string> = resumeAt > 0 ? { range: `bytes=${resumeAt}-` } : {};
      const transfer = await openTransfer(url, range, artifactLimits, options, where);
      try {
        if (resumeAt > 0 && transfer.status === 200) {
          await part.restart(); // the mirror ignores Range: this body is the whole file
        } else if (resumeAt > 0 && (transfer.status === 416 || (transfer.status === 206 && !rangeContinues(transfer.headers, resumeAt, size)))) {
          transfer.close();
          await part.restart(); // the part and the mirror disagree: start over (once: the offset is 0 now)
          return await fill(part);
        }
        expectStatus(transfer, part.offset > 0 ? 206 : 200, where);
        const announced = announcedLength(transfer.headers);
        if (announced !== undefined && announced !== size - part.offset) {
          throw new TideError('size', `expected ${size - part.offset} more bytes, the mirror announces ${announced}`, where);
        }
        for await (const chunk of transfer.body) {
          await part.append(chunk);
        }
      } finally {
        transfer.close();
      }
    };
  }

  return {
    fetchDocument,
    async fetchObject(mirror, path, maxBytes) {
      const where = { mirror, file: path };
      const transfer = await openTransfer(mirrorHttpUrl(mirror, path), {}, artifactLimits, options, where);
      try {
        expectStatus(transfer, 200, where);
        const announced = announcedLength(transfer.headers);
        if (announced !== undefined && announced > maxBytes) {
          throw new TideError('size', `expected an object of at most ${maxBytes} bytes, the mirror announces ${announced}`, where);
        }
      } catch (err) {
        transfer.close();
        throw err;
      }
      return { chunks: cappedChunks(transfer.body, maxBytes, where), close: transfer.close };
    },
    async downloadArtifact(mirror, path, expect, dest, onProgress) {
      const where = { mirror, file: path };
      const url = mirrorHttpUrl(mirror, path);
      await downloadVerified(dest, expect, where, fillFrom(url, where), onProgress);
    },
  };
}
