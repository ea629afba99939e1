// The publisher's two streamed writes (store/atomic.ts writeStreamAtomic): a mirror file
// copied by `tide release publish` and an object written by `tide release build`. Each
// appears under its name complete and proven, or not at all: a source that changed after
// it was planned is refused, and neither the name nor a temp file is left behind.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { atomicFileWriter } from '../../src/release/mirror-target.js';
import { writeObjects } from '../../src/release/write-objects.js';
import { objectPath } from '../../src/bundle/tree-document.js';
import { rejectsWithCode } from '../helpers/assert-error.js';
import { tempDir } from '../helpers/tmp.js';

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** Every name under `dir`, temp files (dot names) included. */
function namesUnder(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String).sort() : [];
}

test('a mirror file is copied under its name when it holds the planned bytes', async () => {
  const tmp = tempDir();
  try {
    const source = join(tmp.path, 'manifest.json');
    writeFileSync(source, 'planned bytes\n');
    const bytes = readFileSync(source);
    const target = join(tmp.path, 'mirror', 'releases', '1.0.0', 'manifest.json');
    await atomicFileWriter.write(source, target, { size: bytes.length, sha256: sha256(bytes) });
    assert.equal(readFileSync(target), bytes);
    assert.equal(namesUnder(join(tmp.path, 'mirror', 'releases', '1.0.0')), ['manifest.json']);
  } finally {
    tmp.cleanup();
  }
});

test('a mirror file that changed after the plan is refused: no file under its name, no temp file', async () => {
  const tmp = tempDir();
  try {
    const source = join(tmp.path, 'manifest.json');
    const planned = Buffer.from('planned bytes\n');
    writeFileSync(source, 'other bytes!!\n');
    const dir = join(tmp.path, 'mirror', 'releases', '1.0.0');
    const err = await rejectsWithCode(atomicFileWriter.write(source, join(dir, 'manifest.json'), { size: planned.length, sha256: sha256(planned) }), 'hash');
    assert.match(err.message, `expected sha256 ${sha256(planned)}`);
    assert.is(err.where.file, source);
    assert.equal(namesUnder(dir), []);
  } finally {
    tmp.cleanup();
  }
});

test('an object is the gzip of its file, named by its sha256, and kept when already there', async () => {
  const tmp = tempDir();
  try {
    const source = join(tmp.path, 'app.js');
    writeFileSync(source, 'console.log(1)\n'.repeat(100));
    const bytes = readFileSync(source);
    const object = { sha256: sha256(bytes), size: bytes.length, source };
    assert.equal(await writeObjects(join(tmp.path, 'tree'), [object]), { written: 1, kept: 0 });
    const file = join(tmp.path, 'tree', objectPath(object.sha256));
    assert.equal(gunzipSync(readFileSync(file)), bytes);
    assert.equal(await writeObjects(join(tmp.path, 'tree'), [object]), { written: 0, kept: 1 });
  } finally {
    tmp.cleanup();
  }
});

test('a file that changed while the release was built is refused: no object under its name, no temp file', async () => {
  const tmp = tempDir();
  try {
    const source = join(tmp.path, 'app.js');
    const packed = Buffer.from('the bytes the bundle packed\n');
    writeFileSync(source, 'bytes written after the bundle\n');
    const tree = join(tmp.path, 'tree');
    mkdirSync(tree);
    const err = await rejectsWithCode(writeObjects(tree, [{ sha256: sha256(packed), size: packed.length, source }]), 'bundle-policy');
    assert.match(err.message, 'found it changed while the release was built');
    assert.is(err.where.file, source);
    assert.equal(namesUnder(join(tree, 'objects')).filter((name) => name.endsWith('.gz') || name.includes('.tmp-')), []);
  } finally {
    tmp.cleanup();
  }
});

test.run();
