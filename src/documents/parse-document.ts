// Parse a signed document AFTER its signature was verified over the raw bytes.
import type { z } from 'zod';
import { TideError, type ErrorPlace } from '../errors.js';
import { limits } from '../limits.js';
import {
  channelPointerSchema,
  releaseManifestSchema,
  revocationsSchema,
  type ChannelPointer,
  type ReleaseManifest,
  type Revocations,
} from './schemas.js';

/** Parse signed bytes with `schema`: size cap, JSON, schema 1, then the fields. */
export function parseWith<T>(schema: z.ZodType<T>, bytes: Uint8Array, what: string, where: ErrorPlace): T {
  if (bytes.byteLength > limits.maxDocumentBytes) {
    throw new TideError('size', `${what} is larger than ${limits.maxDocumentBytes} bytes`, where);
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new TideError('schema', `${what} is not valid JSON: ${(err as Error).message}`, where);
  }
  if (typeof json === 'object' && json !== null && 'schema' in json && (json as { schema: unknown }).schema !== 1) {
    // SPEC formats.md#release-manifest: an unknown schema is refused.
    throw new TideError('schema', `${what} has schema ${JSON.stringify((json as { schema: unknown }).schema)}, this tide reads schema 1`, where);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.') || '(document)';
    throw new TideError('schema', `${what} field ${field}: ${issue.message}`, where);
  }
  return parsed.data;
}

export const parseChannelPointer = (bytes: Uint8Array, where: ErrorPlace = {}): ChannelPointer =>
  parseWith(channelPointerSchema, bytes, 'channel pointer', where);

export const parseReleaseManifest = (bytes: Uint8Array, where: ErrorPlace = {}): ReleaseManifest =>
  parseWith(releaseManifestSchema, bytes, 'release manifest', where);

export const parseRevocations = (bytes: Uint8Array, where: ErrorPlace = {}): Revocations =>
  parseWith(revocationsSchema, bytes, 'revocations', where);
