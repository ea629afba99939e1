// SPEC formats.md#the-tree-artifact on a filesystem with reflinks (xfs, in a loop-mounted
// image): kept files are cloned, never hard-linked, and a clone counts only once its bytes
// are the ones the new tree names and it has the tree's mode. ext4 (where the other tests
// run) has no reflinks, so this is the only place the clone path runs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { createMirrorClient } from '../../src/mirror/create-mirror-client.js';
import { keptTreeOf, planDelta } from '../../src/bundle/delta-plan.js';
import { stageFromTree } from '../../src/bundle/stage-from-tree.js';
import { checkTreeEntries, objectPath, type CheckedTree, type TreeEntry } from '../../src/bundle/tree-document.js';
import { tempDir } from '../helpers/tmp.js';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function run(argv: string[]): string {
  const result = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${argv.join(' ')} failed: ${result.stderr || result.error?.message}`);
  return result.stdout;
}

/** An xfs with reflinks, loop-mounted under a temp dir for the body; always unmounted. */
async function onXfs(body: (dir: string) => Promise<void>): Promise<void> {
  const tmp = tempDir('tide-reflink-');
  const image = join(tmp.path, 'xfs.img');
  const mount = join(tmp.path, 'mnt');
  try {
    run(['truncate', '-s', '320M', image]);
    run(['mkfs.xfs', '-q', '-m', 'reflink=1', image]);
    mkdirSync(mount);
    run(['mount', '-o', 'loop', image, mount]);
    try {
      await body(mount);
    } finally {
      run(['umount', mount]);
    }
  } finally {
    tmp.cleanup();
  }
}

/** xfs_io's fiemap flags of the file's first extent: 0x2000 is "shared" (a reflink). */
function sharedExtents(file: string): boolean {
  const line = run(['xfs_io', '-r', '-c', 'fiemap -v', file]).split('\n').find((l) => /^\s*0:/.test(l));
  const flags = line?.trim().split(/\s+/).at(-1);
  return flags !== undefined && (parseInt(flags, 16) & 0x2000) !== 0;
}

function treeOf(version: string, files: Record<string, { bytes: Buffer; mode: string }>): CheckedTree {
  const entries: TreeEntry[] = [{ path: 'lib', type: 'dir', mode: '0755' }];
  for (const [path, { bytes, mode }] of Object.entries(files)) entries.push({ path, type: 'file', mode, size: bytes.length, sha256: sha256(bytes) });
  return checkTreeEntries({ schema: 1, app: 'demo', version, entries }, 1 << 30);
}

interface Kept { keptDir: string; mirrorUrl: string; a: Buffer; b: Buffer; stage: () => ReturnType<typeof stageFromTree>; stagingDir: string }

/** 1.0.0 kept with lib/a.bin (0600 on disk, 0644 in both trees) and lib/b.bin; 1.1.0 names the same bytes, objects on a file:// mirror. */
function keep(dir: string): Kept {
  const a = randomBytes(256 * 1024);
  const b = randomBytes(128 * 1024);
  const keptDir = join(dir, 'versions', '1.0.0');
  mkdirSync(join(keptDir, 'lib'), { recursive: true });
  writeFileSync(join(keptDir, 'lib', 'a.bin'), a);
  writeFileSync(join(keptDir, 'lib', 'b.bin'), b);
  chmodSync(join(keptDir, 'lib', 'a.bin'), 0o600);
  const files = { 'lib/a.bin': { bytes: a, mode: '0644' }, 'lib/b.bin': { bytes: b, mode: '0755' } };
  const kept = keptTreeOf('1.0.0', keptDir, treeOf('1.0.0', files));
  const next = treeOf('1.1.0', files);
  const mirror = join(dir, 'mirror');
  for (const bytes of [a, b]) {
    const file = join(mirror, objectPath(sha256(bytes)));
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, gzipSync(bytes));
  }
  const stagingDir = join(dir, 'staging', '1.1.0');
  mkdirSync(dirname(stagingDir));
  const mirrorUrl = pathToFileURL(mirror).href;
  return {
    keptDir, mirrorUrl, a, b, stagingDir,
    stage: () => stageFromTree({ tree: next, plan: planDelta(next, [kept], 0.5)!, stagingDir, mirrors: [mirrorUrl], client: createMirrorClient() }),
  };
}

test('on xfs, unchanged kept files are reflinked (shared extents, not hard links) and get the tree mode', () =>
  onXfs(async (dir) => {
    const k = keep(dir);
    const result = await k.stage();
    assert.equal([result.reusedFiles, result.fetchedObjects, result.editedFiles], [2, 0, 0]);
    const staged = join(k.stagingDir, 'lib', 'a.bin');
    assert.ok(readFileSync(staged).equals(k.a));
    assert.ok(sharedExtents(staged), 'the staged file shares its extents with the kept one (a reflink)');
    assert.is(lstatSync(staged).nlink, 1, 'never a hard link');
    assert.is(lstatSync(staged).mode & 0o7777, 0o644, "the tree's mode, not the kept file's 0600");
    assert.is(lstatSync(join(k.stagingDir, 'lib', 'b.bin')).mode & 0o7777, 0o755);
  }));

test('on xfs, a kept file edited on disk (same size) is cloned, found wrong, removed and fetched instead', () =>
  onXfs(async (dir) => {
    const k = keep(dir);
    const edited = Buffer.from(k.a);
    edited[1000] = (edited[1000]! + 1) & 0xff;
    writeFileSync(join(k.keptDir, 'lib', 'a.bin'), edited);
    const result = await k.stage();
    assert.equal([result.reusedFiles, result.fetchedObjects, result.editedFiles], [1, 1, 1]);
    const staged = join(k.stagingDir, 'lib', 'a.bin');
    assert.ok(readFileSync(staged).equals(k.a), "the staged file holds the tree's bytes, not the edited ones");
    assert.not.ok(sharedExtents(staged), 'the fetched file is no clone of the edited one');
  }));

test.run();
