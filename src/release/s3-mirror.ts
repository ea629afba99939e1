// `tide release publish s3://bucket[/prefix]`: an S3-compatible bucket as a mirror (hosts
// read it over https, directly or through a CDN). Files go up one at a time in publishing
// order (artifacts, manifests, roots, revocations, pointers; each signature before its
// document), each a single PutObject, which S3 makes visible whole or not at all. Each
// object carries its sha256 as metadata, so the next publish knows what is there already.
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { TideError } from '../errors.js';
import type { FileDigest } from '../store/file-digest.js';
import type { MirrorContents, TreeFile } from './publish-plan.js';
import type { MirrorTarget } from './mirror-target.js';

/** `s3://bucket/some/prefix` → bucket and key prefix ("some/prefix/", or ""). */
export function parseS3Mirror(mirror: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(mirror);
  const prefix = (match?.[2] ?? '').replace(/\/+$/, '');
  if (!match || prefix.split('/').some((part, i, all) => (part === '' && all.length > 1) || part === '..' || part === '.')) {
    throw new TideError('usage', `expected an S3 mirror like s3://bucket or s3://bucket/demo, got ${JSON.stringify(mirror)}`, { mirror });
  }
  return { bucket: match[1]!, prefix: prefix === '' ? '' : `${prefix}/` };
}

const contentType = (path: string): string =>
  path.endsWith('.json') ? 'application/json' : path.endsWith('.asc') ? 'application/pgp-signature' : 'application/octet-stream';

const isMissing = (err: unknown): boolean =>
  err instanceof S3ServiceException && (err.$metadata.httpStatusCode === 404 || err.name === 'NotFound' || err.name === 'NoSuchKey');

function failed(mirror: string, path: string, what: string, err: unknown): TideError {
  return new TideError('unreachable', `S3 ${what} failed: ${(err as Error).message ?? String(err)}`, { mirror, file: path });
}

export function openS3Mirror(mirror: string, endpoint: string | undefined): MirrorTarget {
  const { bucket, prefix } = parseS3Mirror(mirror);
  // The SDK's own note about future Node versions would land mid-run on stderr, tide's log stream.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const client = new S3Client({
    ...(endpoint !== undefined && { endpoint, forcePathStyle: true }),
    region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    // Plain bodies: S3-compatible servers that do not know aws-chunked uploads would store the chunk framing.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const key = (path: string) => `${prefix}${path}`;
  const read = async (path: string): Promise<Buffer | undefined> => {
    try {
      const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key(path) }));
      return Buffer.from(await answer.Body!.transformToByteArray());
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw failed(mirror, path, 'GetObject', err);
    }
  };
  const contents: MirrorContents = {
    async digest(path, size): Promise<FileDigest | undefined> {
      let head;
      try {
        head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key(path) }));
      } catch (err) {
        if (isMissing(err)) return undefined;
        throw failed(mirror, path, 'HeadObject', err);
      }
      const held = head.ContentLength ?? -1;
      if (held !== size) return { size: held, sha256: '' };
      const recorded = head.Metadata?.sha256;
      if (recorded && /^[0-9a-f]{64}$/.test(recorded)) return { size: held, sha256: recorded };
      // Uploaded by something else: hash what is there.
      const bytes = await read(path);
      return bytes && { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
    },
    read,
  };
  return {
    mirror,
    contents,
    async write(files: readonly TreeFile[]) {
      for (const file of files) {
        try {
          await client.send(new PutObjectCommand({
            Bucket: bucket, Key: key(file.path), Body: createReadStream(file.source), ContentLength: file.size,
            ContentType: contentType(file.path), Metadata: { sha256: file.sha256 },
            // Pointers and revocations change; hosts must not be served a cached old one for long.
            ...(file.stage === 'pointer' || file.stage === 'revocations' ? { CacheControl: 'no-cache' } : {}),
          }));
        } catch (err) {
          throw failed(mirror, file.path, 'PutObject', err);
        }
      }
    },
    close: () => client.destroy(),
  };
}
