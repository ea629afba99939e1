// Releases published into a mirror tree by hand, so a test can bend any field the
// real publisher would not: bundles built with GNU tar (or handed in), image
// artifacts, manifests, channel pointers and revocations, signed with test keys.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeAppTree, type ServiceBehaviour } from '../../scripts/lib/service-app.js';
import { detachSign, type TestKey } from './keys.js';

export interface PublishOptions {
  channel?: string;
  extraFiles?: Record<string, string>;
  /** Skip the channel pointer (a release published but not promoted). */
  noPointer?: boolean;
  sequence?: number;
  expires?: string;
  rolloutPercent?: number;
  /** Keys that sign the pointer and the manifest (default: the first trusted key). */
  signers?: TestKey[];
  /** Fields set on (or, when undefined, removed from) the pointer before it is signed. */
  pointerFields?: Record<string, unknown>;
  /** Fields set on (or removed from) the manifest before it is signed. */
  manifestFields?: Record<string, unknown>;
  /** A ready .tar.gz to publish instead of the GNU tar build of the app tree. */
  bundle?: Buffer;
  /** SPEC formats.md#image-artifacts: `image` artifacts, oci-archive files copied to releases/<v>/<path>. */
  images?: PublishedImage[];
  /** Artifact entries appended to the manifest as they are (e.g. a type a newer tide knows). */
  extraArtifacts?: Record<string, unknown>[];
}

export interface PublishedImage {
  /** The ref the manifest names (the archive may carry another, to test the refusal). */
  ref: string;
  /** An oci-archive made with `podman save --format oci-archive`. */
  archive: string;
  /** Default images/<repository name>.oci.tar. */
  path?: string;
}

export interface RevokeOptions {
  versions?: string[];
  keys?: string[];
  sequence?: number;
  expires?: string;
  signers?: TestKey[];
}

export interface MirrorPublisher {
  publish(version: string, behaviour?: ServiceBehaviour, options?: PublishOptions): Promise<void>;
  /** SPEC formats.md#revocations: write and sign revocations.json into the mirror tree. */
  revoke(options: RevokeOptions): Promise<void>;
  /** (Re)sign a mirror file: `<path>.asc` over its current bytes. */
  sign(path: string, signers?: TestKey[]): Promise<void>;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Set (or, for undefined, remove) fields of a document before it is signed. */
function withFields(doc: Record<string, unknown>, fields: Record<string, unknown> = {}): Buffer {
  const out: Record<string, unknown> = { ...doc };
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) delete out[name];
    else out[name] = value;
  }
  return Buffer.from(JSON.stringify(out, null, 2));
}

/** The app tree of `version` as a reproducible .tar.gz at `dest` (sorted, owner 0, mtime 0). */
function buildBundle(tree: string, version: string, behaviour: ServiceBehaviour, extraFiles: Record<string, string> | undefined, dest: string): void {
  rmSync(tree, { recursive: true, force: true });
  writeAppTree(tree, version, behaviour, extraFiles);
  const entries = spawnSync('ls', [tree]).stdout.toString().trim().split('\n');
  const tar = spawnSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-czf', dest, '-C', tree, ...entries]);
  if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr}`);
}

/** Copy each archive into the release dir; returns the manifest's artifact entries. */
function publishImages(releaseDir: string, images: PublishedImage[]): Record<string, unknown>[] {
  return images.map((image) => {
    const name = image.ref.slice(image.ref.lastIndexOf('/') + 1).split(':')[0];
    const path = image.path ?? `images/${name}.oci.tar`;
    mkdirSync(dirname(join(releaseDir, path)), { recursive: true });
    const bytes = readFileSync(image.archive);
    writeFileSync(join(releaseDir, path), bytes);
    return { type: 'image', path, size: bytes.length, sha256: sha256(bytes), image: image.ref };
  });
}

/** Publishes into `mirrorDir` (app "demo"), building app trees under `buildDir`; signs with `key` unless told otherwise. */
export function mirrorPublisher(o: { mirrorDir: string; buildDir: string; key: TestKey }): MirrorPublisher {
  const { mirrorDir, key } = o;
  let sequence = 0;
  let revocationSequence = 0;

  async function sign(path: string, signers: TestKey[] = [key]): Promise<void> {
    const file = join(mirrorDir, path);
    writeFileSync(`${file}.asc`, await detachSign(readFileSync(file), signers));
  }

  async function publish(version: string, behaviour: ServiceBehaviour = 'good', p: PublishOptions = {}): Promise<void> {
    const channel = p.channel ?? 'stable';
    const signers = p.signers ?? [key];
    const releaseDir = join(mirrorDir, 'releases', version);
    mkdirSync(releaseDir, { recursive: true });
    const bundleName = `demo-${version}.tar.gz`;
    if (p.bundle) writeFileSync(join(releaseDir, bundleName), p.bundle);
    else buildBundle(join(o.buildDir, version), version, behaviour, p.extraFiles, join(releaseDir, bundleName));
    const bundle = readFileSync(join(releaseDir, bundleName));
    const manifest = withFields({
      schema: 1, app: 'demo', version, published: new Date().toISOString(),
      artifacts: [{ type: 'bundle', path: bundleName, size: bundle.length, sha256: sha256(bundle) }, ...publishImages(releaseDir, p.images ?? []), ...(p.extraArtifacts ?? [])],
    }, p.manifestFields);
    writeFileSync(join(releaseDir, 'manifest.json'), manifest);
    await sign(`releases/${version}/manifest.json`, signers);
    if (p.noPointer) return;
    sequence = p.sequence ?? sequence + 1;
    const pointer = withFields({
      schema: 1, app: 'demo', channel, version, sequence,
      published: new Date().toISOString(),
      expires: p.expires ?? new Date(Date.now() + 86_400_000).toISOString(),
      manifest: { path: `releases/${version}/manifest.json`, size: manifest.length, sha256: sha256(manifest) },
      ...(p.rolloutPercent !== undefined ? { rollout: { percent: p.rolloutPercent } } : {}),
    }, p.pointerFields);
    mkdirSync(join(mirrorDir, 'channels'), { recursive: true });
    writeFileSync(join(mirrorDir, 'channels', `${channel}.json`), pointer);
    await sign(`channels/${channel}.json`, signers);
  }

  async function revoke(r: RevokeOptions): Promise<void> {
    revocationSequence = r.sequence ?? revocationSequence + 1;
    const document = Buffer.from(JSON.stringify({
      schema: 1, app: 'demo', sequence: revocationSequence,
      published: new Date().toISOString(),
      expires: r.expires ?? new Date(Date.now() + 86_400_000).toISOString(),
      versions: r.versions ?? [], keys: r.keys ?? [],
    }, null, 2));
    mkdirSync(dirname(join(mirrorDir, 'revocations.json')), { recursive: true });
    writeFileSync(join(mirrorDir, 'revocations.json'), document);
    await sign('revocations.json', r.signers ?? [key]);
  }

  return { publish, revoke, sign };
}
