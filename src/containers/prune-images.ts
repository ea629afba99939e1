// After a commit: images of versions no longer kept are removed.
// SPEC host-layout.md#kept-versions: current, previous and `keep` more versions
// are kept, and so are their images;
// only refs tide itself loaded (named in a kept manifest) are ever removed.
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Layout } from '../store/layout.js';
import { readVersionLink } from '../store/version-links.js';
import { readHostState } from '../store/host-state.js';
import { keptVersions } from '../store/kept-versions.js';
import { imageArtifactsOf } from './container-plan.js';
import { readKeptManifest, type ImageStageDeps } from './image-artifacts.js';

function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/** The same rule as the version prune (store/kept-versions.ts). */
export function keptVersionsOf(layout: Layout, keep: number): Set<string> {
  return keptVersions({
    current: readVersionLink(layout.current),
    previous: readVersionLink(layout.previous),
    installed: listDir(layout.versions),
    bad: readHostState(layout).bad,
    keep,
  });
}

function refsOf(layout: Layout, version: string): string[] {
  const manifest = readKeptManifest(layout, version);
  return manifest ? imageArtifactsOf(manifest).map((a) => a.image) : [];
}

/** Refs named by manifests of versions that are not kept, and by no kept one. */
export function staleImageRefs(layout: Layout, keep: number): string[] {
  const kept = keptVersionsOf(layout, keep);
  const keptRefs = new Set([...kept].flatMap((v) => refsOf(layout, v)));
  const withArtifacts = listDir(dirname(layout.artifactsDir('-')));
  const stale = withArtifacts.filter((v) => !kept.has(v)).flatMap((v) => refsOf(layout, v));
  return [...new Set(stale)].filter((ref) => !keptRefs.has(ref));
}

export async function pruneImages(deps: ImageStageDeps & { keep: number }): Promise<string[]> {
  const removed: string[] = [];
  for (const ref of staleImageRefs(deps.layout, deps.keep)) {
    // Never forced: an image a container still uses stays, and the next commit tries again.
    if (await deps.podman.removeImage(ref)) removed.push(ref);
    else if ((await deps.podman.imageId(ref)) !== null) deps.logger.log('debug', { event: 'prune', message: `image ${ref} is still in use; kept` });
  }
  if (removed.length > 0) deps.logger.log('info', { event: 'prune', message: `removed images ${removed.join(', ')}` });
  return removed;
}
