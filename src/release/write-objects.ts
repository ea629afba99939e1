// SPEC formats.md#the-tree-artifact: `tide release build`, the tree artifact's side:
// every file of the bundle once more, as a content-addressed object in the release
// tree's objects/, shared by every release. An object already there is
// checked (inflated and hashed) and kept; a damaged one is replaced. Each object
// appears under its name only complete, fsynced, and proven to hold the bytes its
// name says.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { TideError } from '../errors.js';
import { writeStreamAtomic } from '../store/atomic.js';
import { objectPath } from '../bundle/tree-document.js';
import { inTree } from './release-tree.js';

export interface ObjectSource {
  sha256: string;
  size: number;
  /** The file the bundle packed. */
  source: string;
}

export interface WrittenObjects {
  written: number;
  kept: number;
}

// Objects are written once and fetched by many hosts: compress them well.
const OBJECT_GZIP_LEVEL = 9;

function hashingTap(hash: ReturnType<typeof createHash>, counter: { bytes: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      counter.bytes += chunk.length;
      done(null, chunk);
    },
  });
}

/** Does the object at `file` inflate to exactly the bytes its name says? */
async function objectHolds(file: string, expect: ObjectSource): Promise<boolean> {
  const hash = createHash('sha256');
  const counter = { bytes: 0 };
  try {
    await pipeline(createReadStream(file), createGunzip(), hashingTap(hash, counter), async function* (source) {
      for await (const _ of source) { /* drain */ }
    });
  } catch {
    return false;
  }
  return counter.bytes === expect.size && hash.digest('hex') === expect.sha256;
}

async function writeObject(file: string, object: ObjectSource): Promise<void> {
  mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
  await writeStreamAtomic(file, async (temp) => {
    const hash = createHash('sha256');
    const counter = { bytes: 0 };
    await pipeline(createReadStream(object.source), hashingTap(hash, counter), createGzip({ level: OBJECT_GZIP_LEVEL }), createWriteStream(temp, { flags: 'wx', mode: 0o644 }));
    const sha = hash.digest('hex');
    if (counter.bytes !== object.size || sha !== object.sha256) {
      throw new TideError('bundle-policy', `expected the file the bundle packed (sha256 ${object.sha256}), found it changed while the release was built`, { file: object.source });
    }
  });
}

/** Every distinct file of the bundle as an object of the release tree. */
export async function writeObjects(tree: string, objects: readonly ObjectSource[]): Promise<WrittenObjects> {
  const seen = new Set<string>();
  const result: WrittenObjects = { written: 0, kept: 0 };
  for (const object of objects) {
    if (seen.has(object.sha256)) continue;
    seen.add(object.sha256);
    const file = inTree(tree, objectPath(object.sha256));
    if (existsSync(file) && (await objectHolds(file, object))) {
      result.kept += 1;
      continue;
    }
    await writeObject(file, object);
    result.written += 1;
  }
  return result;
}
