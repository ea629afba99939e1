// After a commit: images of versions no longer kept are removed.
// SPEC host-layout.md#kept-versions: current, previous and `keep` more versions
// are kept, and so are their images;
// only refs tide itself loaded (named in a kept manifest) are ever removed.
import { readdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Layout } from '../store/layout.js';
import { readVersionLink } from '../store/version-links.js';
import { imageArtifactsOf } from './container-plan.js';
import { readKeptManifest, type ImageStageDeps } from './image-artifacts.js';

function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function mtimeOf(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/** The same rule as the version prune: current, previous, then the `keep` most recently installed. */
export function keptVersions(layout: Layout, keep: number): Set<string> {
  const always = [readVersionLink(layout.current), readVersionLink(layout.previous)].filter((v): v is string => v !== null);
  const others = listDir(layout.versions)
    .filter((v) => !always.includes(v))
    .sort((a, b) => mtimeOf(layout.versionDir(b)) - mtimeOf(layout.versionDir(a)));
  return new Set([...always, ...others.slice(0, keep)]);
}

function refsOf(layout: Layout, version: string): string[] {
  const manifest = readKeptManifest(layout, version);
  return manifest ? imageArtifactsOf(manifest).map((a) => a.image) : [];
}

/** Refs named by manifests of versions that are not kept, and by no kept one. */
export function staleImageRefs(layout: Layout, keep: number): string[] {
  const kept = keptVersions(layout, keep);
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
