// `tide release publish`, part two: copy the planned files to each directory
// mirror in order. Each file goes to a temp name in its final directory, is
// fsynced, checked against the sha256 planned for it, and renamed over its
// name; nothing on a mirror is ever deleted.
//
// Signature before document (see publishingOrder): a reader that fetches the
// new document then its .asc finds the matching signature. A reader that read
// the old document a moment before may fetch the new .asc and see a bad
// signature; either order has such a window, and both end in a refusal, never
// in trusting unsigned bytes — the host moves on to the next mirror.
import { digestingTap } from '../store/file-digest.js';
import { createReadStream, createWriteStream, existsSync, mkdirSync, statSync, renameSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { TideError } from '../errors.js';
import { fsyncDir } from '../store/atomic.js';
import { mirrorDirectory, type FileDigest } from './release-tree.js';
import { directoryContents, listTreeFiles, planMirror, type MirrorContents, type MirrorPlan, type PublishStage, type TreeFile, type TreeTrust } from './publish-plan.js';
import { readNewestTreeRoot } from './tree-roots.js';
import { readRevocations } from './revoke-releases.js';

/** Writes one file on a mirror so that it appears complete or not at all. Tests wrap it to record the order. */
export interface MirrorFileWriter {
  write(source: string, target: string, expected: FileDigest): Promise<void>;
}

export interface PublishRequest {
  tree: string;
  /** Directories or file:// URLs, git+<url>[#branch] remotes, s3://bucket[/prefix] buckets. */
  mirrors: readonly string[];
  writer?: MirrorFileWriter;
  /** For s3:// mirrors: the S3-compatible endpoint (default: the AWS SDK's, from AWS_ENDPOINT_URL or AWS). */
  s3Endpoint?: string;
}

export interface PublishedMirror {
  mirror: string;
  /** Mirror-relative paths written, in the order they were written. */
  copied: { path: string; stage: PublishStage; size: number }[];
  /** Mirror-relative paths already there with the same bytes. */
  unchanged: string[];
  /** git remotes: the commit pushed (null when nothing changed). */
  commit?: string | null;
}

/** One mirror being published to: what it holds, how a file reaches it, what ends the publish. */
export interface MirrorTarget {
  mirror: string;
  contents: MirrorContents;
  /** Write the planned files in order, each whole or not at all. */
  write(files: readonly TreeFile[]): Promise<void>;
  /** After every file is written (git: commit and push the lot as one ref update). */
  finish?(plan: MirrorPlan): Promise<Partial<PublishedMirror>>;
  /** Remove what opening it made (a temp checkout). */
  close?(): void;
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

/** A directory (or a checkout): each file through the writer, in order. */
export function directoryTarget(mirror: string, dir: string, writer: MirrorFileWriter = atomicFileWriter): MirrorTarget {
  return {
    mirror,
    contents: directoryContents(dir),
    async write(files) {
      for (const file of files) await writer.write(file.source, join(dir, ...file.path.split('/')), file);
    },
  };
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

export const atomicFileWriter: MirrorFileWriter = {
  async write(source, target, expected) {
    makeDirectories(dirname(target));
    const temp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      const written = await copyHashing(source, temp);
      if (written.size !== expected.size || written.sha256 !== expected.sha256) {
        // The tree changed under us between the plan and the copy.
        throw new TideError('hash', `expected sha256 ${expected.sha256} (${expected.size} bytes), copied ${written.sha256} (${written.size} bytes)`, { file: source });
      }
      const handle = await open(temp, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      renameSync(temp, target);
    } finally {
      rmSync(temp, { force: true });
    }
    fsyncDir(dirname(target));
  },
};

/** mkdir -p with 0755, fsyncing each parent that gained a directory. */
function makeDirectories(dir: string): void {
  const created = mkdirSync(dir, { recursive: true, mode: 0o755 });
  if (created === undefined) return;
  for (let d = dir; d.length >= created.length; d = dirname(d)) fsyncDir(dirname(d));
}

async function copyHashing(source: string, target: string): Promise<FileDigest> {
  const measure = digestingTap();
  await pipeline(createReadStream(source), measure.tap, createWriteStream(target, { flags: 'wx', mode: 0o644 }));
  return measure.digest();
}
