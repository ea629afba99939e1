// What an image artifact (podman oci-archive) says about itself, read before it is
// loaded: the ref podman will give it (index.json's ref.name annotation) and the
// image id (the digest of its config). Plan, then apply: a wrong ref is refused
// before `podman load` can move a tag in the host's image store.
import { createReadStream } from 'node:fs';
import { Parser, type ReadEntry } from 'tar';
import { TideError } from '../errors.js';
import { limits } from '../limits.js';

export interface OciArchiveImage {
  /** org.opencontainers.image.ref.name of each manifest in index.json. */
  refs: string[];
  /** The image id podman gives the loaded image: the config digest, without "sha256:". */
  imageId: string;
}

const refAnnotation = 'org.opencontainers.image.ref.name';
const blobPath = /^(?:\.\/)?blobs\/sha256\/([0-9a-f]{64})$/;

/** index.json and every small blob (manifests, configs); layers are skipped unread. */
async function readSmallEntries(file: string): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  const parser = new Parser({ strict: true });
  let failure: unknown;
  parser.on('entry', (entry: ReadEntry) => {
    const path = entry.path.replace(/^\.\//, '');
    const wanted = (path === 'index.json' || blobPath.test(path)) && entry.size <= limits.ociMetadataBytes;
    if (!wanted) {
      entry.resume();
      return;
    }
    const chunks: Buffer[] = [];
    entry.on('data', (chunk: Buffer) => chunks.push(chunk));
    entry.on('end', () => found.set(path, Buffer.concat(chunks)));
  });
  parser.on('error', (err: unknown) => (failure ??= err));
  const ended = new Promise<void>((resolve) => parser.on('end', () => resolve()));
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    parser.write(chunk as Buffer);
    if (failure) break;
  }
  parser.end();
  if (!failure) await ended;
  if (failure) throw notAnArchive(`${(failure as Error).message ?? failure}`);
  return found;
}

function notAnArchive(found: string): TideError {
  return new TideError('image-ref', `expected a podman oci-archive (a tar with index.json and blobs/sha256/), found ${found}`);
}

function parseJson(bytes: Buffer | undefined, what: string): Record<string, unknown> {
  if (!bytes) throw notAnArchive(`no ${what}`);
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    if (typeof value === 'object' && value !== null) return value as Record<string, unknown>;
  } catch { /* reported below */ }
  throw notAnArchive(`a ${what} that is not a JSON object`);
}

interface Descriptor {
  digest?: string;
  mediaType?: string;
  annotations?: Record<string, string>;
}

export async function readOciArchive(file: string): Promise<OciArchiveImage> {
  const entries = await readSmallEntries(file);
  const index = parseJson(entries.get('index.json'), 'index.json');
  const manifests = (Array.isArray(index.manifests) ? index.manifests : []) as Descriptor[];
  // SPEC formats.md#image-artifacts: one image artifact is one image; an index of several is not.
  if (manifests.length !== 1) throw notAnArchive(`index.json naming ${manifests.length} images instead of one`);
  const only = manifests[0]!;
  const refs = manifests.map((m) => m.annotations?.[refAnnotation]).filter((r): r is string => typeof r === 'string');
  const manifestHex = /^sha256:([0-9a-f]{64})$/.exec(only.digest ?? '')?.[1];
  if (!manifestHex) throw notAnArchive(`an index.json entry without a sha256 digest`);
  const manifest = parseJson(entries.get(`blobs/sha256/${manifestHex}`), `image manifest ${manifestHex.slice(0, 12)}`);
  const config = manifest.config as Descriptor | undefined;
  const imageId = /^sha256:([0-9a-f]{64})$/.exec(config?.digest ?? '')?.[1];
  if (!imageId) throw notAnArchive('an image manifest without a config digest');
  return { refs, imageId };
}
