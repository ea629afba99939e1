// SPEC formats.md#channel-pointer, formats.md#release-manifest, formats.md#revocations: the signed documents.
// Unknown fields are ignored (zod strips them); an unknown schema is refused.
import { z } from 'zod';
import semver from 'semver';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a lower-case hex sha256');
const timestamp = z.string().refine((t) => !Number.isNaN(Date.parse(t)), 'an ISO 8601 time');
const version = z.string().refine((v) => semver.valid(v) === v, 'a semantic version');
const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/);

/** SPEC formats.md#artifact-paths: relative to releases/<version>/, no `..`, no leading `/`. */
export const releasePath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split('/').some((part) => part === '..' || part === '.' || part === ''), 'a relative path without ".." or empty parts')
  .refine((p) => !/[\u0000-\u001f\u007f\\]/.test(p), 'no control characters or backslashes');

/** Where a signed document pins a manifest: its path and exact bytes. */
const manifestPin = z.object({ path: z.string().min(1), size: z.number().int().positive(), sha256 });

export const channelPointerSchema = z.object({
  schema: z.literal(1),
  app: name,
  channel: name,
  version,
  /** Strictly increases per channel; hosts refuse a lower one. */
  sequence: z.number().int().nonnegative(),
  published: timestamp,
  /** Hosts refuse an expired pointer (freeze attack). */
  expires: timestamp,
  manifest: manifestPin,
  rollout: z.object({ percent: z.number().min(0).max(100) }).optional(),
  /**
   * SPEC formats.md#rollout-fallback: the release hosts outside `rollout.percent` install when
   * they have none yet or an older one. Signed with the pointer; an older release than `version`.
   */
  fallback: z.object({ version, manifest: manifestPin }).optional(),
}).refine((p) => p.fallback === undefined || semver.lt(p.fallback.version, p.version), {
  message: 'fallback.version must be older than version',
  path: ['fallback', 'version'],
});

const bundleArtifact = z.object({
  type: z.literal('bundle'),
  path: releasePath,
  size: z.number().int().nonnegative(),
  sha256,
});
const imageArtifact = z.object({
  type: z.literal('image'),
  path: releasePath,
  size: z.number().int().nonnegative(),
  sha256,
  /** The ref the loaded image must carry, e.g. localhost/demo-web:1.2.0. */
  image: z.string().regex(/^[a-z0-9][a-z0-9._\/-]*(:\d+)?[a-z0-9._\/-]*:[A-Za-z0-9_][A-Za-z0-9._-]*$/, 'an image reference with a tag'),
  /**
   * SPEC formats.md#oci-layout-images: absent, a podman oci-archive; `oci`, an OCI image index
   * (`path` ends in index.json) whose blobs are at objects/sha256/<hex>. A layout this host does
   * not know is refused with the manifest: the release cannot be installed here without it.
   */
  layout: z.enum(['oci'], { message: 'an image layout this tide knows ("oci", or none for an oci-archive); a newer tide is needed for this release' }).optional(),
}).refine((a) => a.layout !== 'oci' || a.path === 'index.json' || a.path.endsWith('/index.json'), {
  message: 'an oci layout image artifact names its index.json',
  path: ['path'],
});

/** SPEC formats.md#the-tree-artifact: tree.json, the bundle's tree as a list, for delta updates. */
const treeArtifact = z.object({
  type: z.literal('tree'),
  path: releasePath,
  size: z.number().int().nonnegative(),
  sha256,
});

const knownArtifact = z.discriminatedUnion('type', [bundleArtifact, imageArtifact, treeArtifact]);
const knownArtifactTypes = new Set(['bundle', 'image', 'tree']);

/**
 * SPEC formats.md#release-manifest: an artifact type this host does not know is ignored, so a release
 * built by a newer tide still installs here from its bundle. A known type is checked in full.
 */
const artifactList = z
  .array(z.looseObject({ type: z.string() }))
  .transform((artifacts) => artifacts.filter((a) => knownArtifactTypes.has(a.type)))
  .pipe(z.array(knownArtifact));

export const releaseManifestSchema = z
  .object({
    schema: z.literal(1),
    app: name,
    version,
    published: timestamp,
    artifacts: artifactList,
  })
  .refine((m) => m.artifacts.filter((a) => a.type === 'bundle').length === 1, 'exactly one bundle artifact')
  .refine((m) => m.artifacts.filter((a) => a.type === 'tree').length <= 1, 'at most one tree artifact')
  .refine((m) => new Set(m.artifacts.map((a) => a.path)).size === m.artifacts.length, 'artifact paths are unique');

export const revocationsSchema = z.object({
  schema: z.literal(1),
  app: name,
  sequence: z.number().int().nonnegative(),
  published: timestamp,
  expires: timestamp,
  versions: z.array(z.string()).default([]),
  keys: z.array(z.string()).default([]),
});

export type ChannelPointer = z.infer<typeof channelPointerSchema>;
export type ReleaseManifest = z.infer<typeof releaseManifestSchema>;
export type Artifact = ReleaseManifest['artifacts'][number];
export type BundleArtifact = z.infer<typeof bundleArtifact>;
export type ImageArtifact = z.infer<typeof imageArtifact>;
export type TreeArtifact = z.infer<typeof treeArtifact>;
export type Revocations = z.infer<typeof revocationsSchema>;
