// `tide release publish`, part two: plan every mirror, then copy the planned files to
// each in order (mirror-target.ts: a directory, a git checkout, a bucket); nothing on
// a mirror is ever deleted.
//
// Signature before document (see publishingOrder): a reader that fetches the
// new document then its .asc finds the matching signature. A reader that read
// the old document a moment before may fetch the new .asc and see a bad
// signature; either order has such a window, and both end in a refusal, never
// in trusting unsigned bytes — the host moves on to the next mirror.
import { existsSync, statSync } from 'node:fs';
import { TideError } from '../errors.js';
import { mirrorDirectory } from './release-tree.js';
import { listTreeFiles, planMirror, type MirrorPlan, type TreeTrust } from './publish-plan.js';
import { atomicFileWriter, directoryTarget, type MirrorFileWriter, type MirrorTarget, type PublishedMirror } from './mirror-target.js';
import { readNewestTreeRoot } from './tree-roots.js';
import { readRevocations } from './revoke-releases.js';

export interface PublishRequest {
  tree: string;
  /** Directories or file:// URLs, git+<url>[#branch] remotes, s3://bucket[/prefix] buckets. */
  mirrors: readonly string[];
  writer?: MirrorFileWriter;
  /** For s3:// mirrors: the S3-compatible endpoint (default: the AWS SDK's, from AWS_ENDPOINT_URL or AWS). */
  s3Endpoint?: string;
}

export async function publishTree(request: PublishRequest): Promise<PublishedMirror[]> {
  if (request.mirrors.length === 0) throw new TideError('usage', 'publish needs at least one mirror');
  const files = await listTreeFiles(request.tree);
  if (files.length === 0) throw new TideError('usage', 'the release tree holds nothing to publish', { file: request.tree });
  const targets: MirrorTarget[] = [];
  try {
    for (const mirror of request.mirrors) targets.push(await openTarget(mirror, request));
    // Plan every mirror before writing to any: a refusal leaves all of them untouched.
    const trust = await treeTrust(request.tree);
    const plans: MirrorPlan[] = [];
    for (const target of targets) plans.push(await planMirror(target.mirror, target.contents, files, trust));
    const published: PublishedMirror[] = [];
    for (const [i, target] of targets.entries()) {
      const plan = plans[i]!;
      await target.write(plan.copy);
      const more = (await target.finish?.(plan)) ?? {};
      published.push({
        mirror: plan.mirror,
        copied: plan.copy.map((f) => ({ path: f.path, stage: f.stage, size: f.size })),
        unchanged: plan.same.map((f) => f.path),
        ...more,
      });
    }
    return published;
  } finally {
    for (const target of targets) target.close?.();
  }
}

async function openTarget(mirror: string, request: PublishRequest): Promise<MirrorTarget> {
  if (mirror.startsWith('git+')) return (await import('./git-mirror.js')).openGitMirror(mirror);
  if (mirror.startsWith('s3://')) return (await import('./s3-mirror.js')).openS3Mirror(mirror, request.s3Endpoint);
  return directoryTarget(mirror, existingDirectory(mirror), request.writer ?? atomicFileWriter);
}

/** With a root chain in the tree: its newest root and revoked keys, to judge what a mirror holds. */
async function treeTrust(tree: string): Promise<TreeTrust | undefined> {
  const newest = await readNewestTreeRoot(tree);
  if (!newest) return undefined;
  const app = newest.root.app;
  return { root: newest.root, revokedKeys: readRevocations(tree, app)?.keys ?? [], now: new Date() };
}

/** The mirror's root must exist: a typo must not quietly become a new, unserved directory. */
function existingDirectory(mirror: string): string {
  const dir = mirrorDirectory(mirror);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new TideError('usage', 'expected an existing directory as the mirror', { mirror });
  }
  return dir;
}

