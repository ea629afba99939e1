// SPEC formats.md#oci-layout-images: an image artifact in the `oci` layout is an OCI image
// index whose manifests, configs and layers are content-addressed blobs. What the index and
// the image manifest say, parsed size-capped and schema-checked before any blob is trusted;
// and the check of a whole layout directory (every blob's size and digest) before a load.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { create as createTar } from 'tar';
import { z } from 'zod';
import { TideError } from '../errors.js';
import { limits } from '../limits.js';
import type { ImageArtifact } from '../documents/schemas.js';

const refAnnotation = 'org.opencontainers.image.ref.name';

const descriptor = z.object({
  mediaType: z.string().optional(),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'a sha256 digest'),
  size: z.number().int().nonnegative(),
  annotations: z.record(z.string(), z.string()).optional(),
});
const indexSchema = z.object({ schemaVersion: z.literal(2), manifests: z.array(descriptor) });
const manifestSchema = z.object({ schemaVersion: z.literal(2), config: descriptor, layers: z.array(descriptor) });

/** One blob of the layout: what its descriptor promises. */
export interface OciBlob {
  /** Lower-case hex sha256, without "sha256:". */
  hex: string;
  size: number;
}

export interface OciImagePlan {
  manifest: OciBlob;
  config: OciBlob;
  layers: OciBlob[];
  /** The image id podman gives the loaded image: the config digest's hex. */
  imageId: string;
}

const blobOf = (d: z.infer<typeof descriptor>): OciBlob => ({ hex: d.digest.slice('sha256:'.length), size: d.size });

export const blobFile = (layoutDir: string, blob: OciBlob): string => join(layoutDir, 'blobs', 'sha256', blob.hex);

function parseJson<T>(bytes: Buffer, schema: z.ZodType<T>, what: string): T {
  if (bytes.length > limits.ociMetadataBytes) {
    throw new TideError('size', `expected the ${what} to be at most ${limits.ociMetadataBytes} bytes, found ${bytes.length}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new TideError('image-ref', `expected the ${what} to be JSON, found bytes that do not parse`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new TideError('image-ref', `expected an OCI ${what}, found ${issue.path.join('.') || '(document)'}: ${issue.message}`);
  }
  return parsed.data;
}

/** index.json: exactly one image, whose ref.name annotation is the artifact's `image`. */
export function parseOciIndex(bytes: Buffer, artifact: ImageArtifact): OciBlob {
  const index = parseJson(bytes, indexSchema, 'image index');
  // SPEC formats.md#image-artifacts: one image artifact is one image; an index of several is not.
  if (index.manifests.length !== 1) throw new TideError('image-ref', `expected the image index to name one image, found ${index.manifests.length}`);
  const only = index.manifests[0]!;
  const ref = only.annotations?.[refAnnotation];
  if (ref !== artifact.image) throw new TideError('image-ref', `expected the image index to carry ${artifact.image}, found ${ref ?? 'no ref'}`);
  if (only.size > limits.ociMetadataBytes) {
    throw new TideError('size', `expected the image manifest to be at most ${limits.ociMetadataBytes} bytes, its descriptor says ${only.size}`);
  }
  return blobOf(only);
}

/** The image manifest blob (already checked against its digest): its config and layers. */
export function parseOciManifest(bytes: Buffer, manifest: OciBlob): OciImagePlan {
  const parsed = parseJson(bytes, manifestSchema, 'image manifest');
  return { manifest, config: blobOf(parsed.config), layers: parsed.layers.map(blobOf), imageId: parsed.config.digest.slice('sha256:'.length) };
}

/** Every blob an image needs, manifest first; each digest once. */
export function blobsOf(plan: OciImagePlan): OciBlob[] {
  const seen = new Set<string>();
  return [plan.manifest, plan.config, ...plan.layers].filter((b) => !seen.has(b.hex) && seen.add(b.hex));
}

/** Does `file` hold exactly the blob's bytes? Reads no more than the descriptor's size + 1. */
export async function fileHoldsBlob(file: string, blob: OciBlob): Promise<boolean> {
  try {
    if (statSync(file).size !== blob.size) return false;
  } catch {
    return false;
  }
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file, { end: blob.size })) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return bytes === blob.size && hash.digest('hex') === blob.hex;
}

/**
 * The layout directory of `artifact` (index.json at its `path`), checked in full: index.json's
 * size and sha256 as the signed manifest says, then every blob's size and digest. Nothing is
 * loaded from a layout that has not passed this.
 */
export async function checkOciLayout(indexFile: string, artifact: ImageArtifact): Promise<OciImagePlan> {
  const layoutDir = join(indexFile, '..');
  const indexBytes = readFileSync(indexFile);
  const indexHash = createHash('sha256').update(indexBytes).digest('hex');
  if (indexBytes.length !== artifact.size || indexHash !== artifact.sha256) {
    throw new TideError('hash', `expected the image index to be ${artifact.size} bytes with sha256 ${artifact.sha256}, found ${indexBytes.length} bytes with sha256 ${indexHash}`, { file: indexFile });
  }
  const manifest = parseOciIndex(indexBytes, artifact);
  const check = async (blob: OciBlob): Promise<void> => {
    if (!(await fileHoldsBlob(blobFile(layoutDir, blob), blob))) {
      throw new TideError('hash', `expected blob sha256:${blob.hex} of ${blob.size} bytes, found it missing or different; not loading the image`, { file: blobFile(layoutDir, blob) });
    }
  };
  await check(manifest);
  const plan = parseOciManifest(readFileSync(blobFile(layoutDir, manifest)), manifest);
  for (const blob of blobsOf(plan).slice(1)) await check(blob);
  return plan;
}

/** The checked layout as an oci-archive podman loads under the index's ref (podman 4 names an oci dir after its path). */
export async function archiveOciLayout(indexFile: string, plan: OciImagePlan, outFile: string): Promise<void> {
  const layoutDir = join(indexFile, '..');
  const entries = ['oci-layout', 'index.json', ...blobsOf(plan).map((b) => `blobs/sha256/${b.hex}`)];
  await pipeline(createTar({ cwd: layoutDir, portable: true, noDirRecurse: true }, entries), createWriteStream(outFile, { mode: 0o600 }));
}
