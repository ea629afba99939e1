// Image deltas (SPEC formats.md#oci-layout-images): a release that changes one layer of a
// 3-layer image, published as an OCI index plus blobs at objects/sha256/ and served by
// nginx. Per run, into a fresh artifacts dir, the host's real blob staging (stage-oci-image.ts)
// takes what a kept version holds and fetches the rest. The bytes are nginx's ($bytes_sent:
// headers and body of every objects/sha256/ request), not tide's. The layers are random bytes
// (incompressible), so the figure does not depend on what podman's gzip makes of them.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { releaseManifestSchema, type ImageArtifact } from '../../src/documents/schemas.js';
import { silentLogger } from '../../src/log/logger.js';
import { stageOciImage } from '../../src/machine/stage-oci-image.js';
import { createMirrorClient } from '../../src/mirror/create-mirror-client.js';
import { layoutFor } from '../../src/store/layout.js';
import { startBenchNginx } from './nginx.js';
import { summarize, type Figure } from './report.js';

export interface ImageDeltaBenchOptions {
  workDir: string;
  /** Sizes of the three layers, base first; the top one changes. */
  layerBytes: [number, number, number];
  runs: number;
  log(line: string): void;
}

const MiB = 1024 * 1024;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const descriptor = (mediaType: string, b: Buffer) => ({ mediaType, digest: `sha256:${sha(b)}`, size: b.length });

/** An OCI image of `layers` tagged `ref`: its index and every blob by hex digest. */
function ociImage(layers: Buffer[], ref: string): { index: Buffer; blobs: Map<string, Buffer> } {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => `sha256:${sha(l)}`) } }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: descriptor('application/vnd.oci.image.config.v1+json', config),
    layers: layers.map((l) => descriptor('application/vnd.oci.image.layer.v1.tar+gzip', l)),
  }));
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ ...descriptor('application/vnd.oci.image.manifest.v1+json', manifest), annotations: { 'org.opencontainers.image.ref.name': ref } }] }));
  return { index, blobs: new Map([config, manifest, ...layers].map((b) => [sha(b), b])) };
}

const artifactOf = (index: Buffer, ref: string): ImageArtifact => ({ type: 'image', path: 'images/web/index.json', size: index.length, sha256: sha(index), image: ref, layout: 'oci' });
const manifestOf = (version: string, artifact: ImageArtifact) => releaseManifestSchema.parse({
  schema: 1, app: 'bench', version, published: '2026-01-01T00:00:00Z',
  artifacts: [{ type: 'bundle', path: `bench-${version}.tar.gz`, size: 1, sha256: '0'.repeat(64) }, artifact],
});

function writeLayout(dir: string, image: { index: Buffer; blobs: Map<string, Buffer> }): void {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(dir, 'index.json'), image.index);
  for (const [hex, bytes] of image.blobs) writeFileSync(join(dir, 'blobs', 'sha256', hex), bytes);
}

export async function benchImageDelta(options: ImageDeltaBenchOptions): Promise<Figure[]> {
  const [baseBytes, midBytes, topBytes] = options.layerBytes;
  options.log(`image: a 3-layer image (${baseBytes / MiB}, ${midBytes / MiB}, ${topBytes / MiB} MiB), the top layer changed, ${options.runs} runs`);
  const base = randomBytes(baseBytes);
  const mid = randomBytes(midBytes);
  const older = ociImage([base, mid, randomBytes(topBytes)], 'localhost/web:1.0.0');
  const newer = ociImage([base, mid, randomBytes(topBytes)], 'localhost/web:1.1.0');
  const root = join(options.workDir, 'image-mirror');
  mkdirSync(join(root, 'objects', 'sha256'), { recursive: true });
  for (const [hex, bytes] of newer.blobs) writeFileSync(join(root, 'objects', 'sha256', hex), bytes);
  const layout = layoutFor(join(options.workDir, 'image-state'));
  const keptArtifact = artifactOf(older.index, 'localhost/web:1.0.0');
  writeLayout(dirname(join(layout.artifactsDir('1.0.0'), keptArtifact.path)), older);
  writeFileSync(join(layout.artifactsDir('1.0.0'), 'manifest.json'), JSON.stringify(manifestOf('1.0.0', keptArtifact)));
  const artifact = artifactOf(newer.index, 'localhost/web:1.1.0');
  const manifest = manifestOf('1.1.0', artifact);
  const nginx = await startBenchNginx(root);
  const wire: number[] = [];
  const full: number[] = [];
  try {
    for (let run = 0; run < options.runs; run++) {
      for (const kept of [['1.0.0'], []]) {
        rmSync(layout.artifactsDir('1.1.0'), { recursive: true, force: true });
        const indexFile = join(layout.artifactsDir('1.1.0'), artifact.path);
        mkdirSync(dirname(indexFile), { recursive: true });
        writeFileSync(indexFile, newer.index);
        nginx.takeRequests();
        await stageOciImage({ layout, client: createMirrorClient(), logger: silentLogger }, manifest, artifact, [nginx.url], kept);
        const sent = nginx.takeRequests().filter((r) => r.request.includes(' /objects/sha256/')).reduce((n, r) => n + r.sentBytes, 0);
        (kept.length > 0 ? wire : full).push(sent);
      }
    }
  } finally {
    await nginx.stop();
  }
  const tide = summarize(wire);
  const limit = topBytes * 1.05;
  return [{
    name: 'image: bytes fetched (nginx $bytes_sent) for a release changing one layer of a 3-layer image',
    unit: 'bytes', tide, baseline: { label: 'the changed layer', ...summarize(Array(options.runs).fill(topBytes)) },
    ratio: tide.median / topBytes, target: '≤ that layer + 5 %', met: tide.max <= limit,
    note: `the whole image fetched without a kept version: ${summarize(full).median} bytes`,
  }];
}
