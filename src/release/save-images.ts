// `tide release build --image REF`: a podman image saved as an oci-archive artifact.
// SPEC formats.md#image-artifacts: image artifacts are podman `oci-archive` files.
import { TideError } from '../errors.js';
import { limits } from '../limits.js';
import { runProcess } from '../system/process-runner.js';

export interface ImageToSave {
  /** The ref hosts will run, with its tag, e.g. localhost/demo-web:1.2.0. */
  ref: string;
  /** Path relative to releases/<version>/: images/<name>.oci.tar, or images/<name>/index.json in the oci layout. */
  path: string;
  /** SPEC formats.md#oci-layout-images: `oci` publishes an index plus shared blobs; default an oci-archive. */
  layout?: ImageLayout;
}

export type ImageLayout = 'oci-archive' | 'oci';

/** images/<name>.oci.tar for each ref, refusing refs without a tag and two images with one name. */
export function planImages(refs: readonly string[], layout: ImageLayout = 'oci-archive'): ImageToSave[] {
  const planned: ImageToSave[] = [];
  for (const ref of refs) {
    const lastPart = ref.slice(ref.lastIndexOf('/') + 1);
    const colon = lastPart.lastIndexOf(':');
    // SPEC config.md#container: the tag comes from the release's image artifact, so it must have one.
    if (colon <= 0 || ref.includes('@') || !/^[a-z0-9][a-z0-9._-]*$/.test(lastPart.slice(0, colon))) {
      throw new TideError('image-ref', `--image needs a lower-case reference with a tag, like localhost/demo-web:1.2.0, got ${JSON.stringify(ref)}`);
    }
    const name = lastPart.slice(0, colon);
    const path = layout === 'oci' ? `images/${name}/index.json` : `images/${name}.oci.tar`;
    if (planned.some((p) => p.path === path)) {
      throw new TideError('image-ref', `two images would both be saved as ${path}: ${planned.find((p) => p.path === path)!.ref} and ${ref}`);
    }
    planned.push({ ref, path, ...(layout === 'oci' ? { layout } : {}) });
  }
  return planned;
}

/** `<podman argv> save --format oci-archive|oci-dir -o <outFile> <ref>`, bounded in time. */
export async function saveImage(
  podmanArgv: readonly string[],
  ref: string,
  outFile: string,
  env?: Record<string, string>,
  format: 'oci-archive' | 'oci-dir' = 'oci-archive',
): Promise<void> {
  if (podmanArgv.length === 0) throw new TideError('usage', '--podman-argv must name a program');
  const argv = [...podmanArgv, 'save', '--format', format, '-o', outFile, ref];
  const result = await runProcess(argv, { env, timeoutMs: limits.imageSaveTimeoutMs });
  if (result.code === 0) return;
  const why = result.spawnError
    ? `could not start (${result.spawnError})`
    : result.timedOut
      ? `took longer than ${limits.imageSaveTimeoutMs} ms`
      : `exited ${result.code ?? result.signal}`;
  const lastLine = result.stderr.trim().split('\n').pop() ?? '';
  throw new TideError('image-ref', `podman save of ${ref} ${why}: ${lastLine}`, { file: outFile });
}
