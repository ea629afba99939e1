// Where `tide release publish` writes, a MirrorTarget: a directory (here), a git checkout
// (git-mirror.ts) or a bucket (s3-mirror.ts). A directory's files are written one
// at a time, each to a temp name in its final directory, fsynced, checked against the
// sha256 planned for it, then renamed over its name.
import { digestingTap } from '../store/file-digest.js';
import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { TideError } from '../errors.js';
import { fsyncDir, writeStreamAtomic } from '../store/atomic.js';
import type { FileDigest } from './release-tree.js';
import { directoryContents, type MirrorContents, type MirrorPlan, type PublishStage, type TreeFile } from './publish-plan.js';

/** Writes one file on a mirror so that it appears complete or not at all. Tests wrap it to record the order. */
export interface MirrorFileWriter {
  write(source: string, target: string, expected: FileDigest): Promise<void>;
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

export const atomicFileWriter: MirrorFileWriter = {
  async write(source, target, expected) {
    makeDirectories(dirname(target));
    await writeStreamAtomic(target, async (temp) => {
      const written = await copyHashing(source, temp);
      if (written.size !== expected.size || written.sha256 !== expected.sha256) {
        // The tree changed under us between the plan and the copy.
        throw new TideError('hash', `expected sha256 ${expected.sha256} (${expected.size} bytes), copied ${written.sha256} (${written.size} bytes)`, { file: source });
      }
    });
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
