import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildRelease } from '../../src/release/build-release.js';
import { digestFile } from '../../src/release/release-tree.js';
import { parseReleaseManifest } from '../../src/documents/parse-document.js';
import { verifyDetached } from '../../src/trust/verify-signatures.js';
import { rejectsWithCode } from '../helpers/assert-error.js';
import { tempDir } from '../helpers/tmp.js';
import { makeKey, makeSourceTree } from './release-fixtures.js';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { objectPath, parseTreeDocument } from '../../src/bundle/tree-document.js';

test('builds releases/<version>/ with the bundle and a manifest naming its size and sha256', async () => {
  const tmp = tempDir();
  try {
    const tree = join(tmp.path, 'tree');
    const source = makeSourceTree(join(tmp.path, 'src'));
    const built = await buildRelease({ tree, app: 'demo', version: '1.2.0-alpha.3', sourceDir: source, sourceDateEpoch: 1_763_892_000 });
    assert.is(built.dir, join(tree, 'releases', '1.2.0-alpha.3'));
    assert.equal(readdirSync(built.dir).sort(), ['demo-1.2.0-alpha.3.tar.gz', 'manifest.json', 'tree.json']);
    const manifest = parseReleaseManifest(readFileSync(built.manifestFile));
    assert.is(manifest.app, 'demo');
    assert.is(manifest.version, '1.2.0-alpha.3');
    assert.is(manifest.published, '2025-11-23T10:00:00Z', 'published comes from SOURCE_DATE_EPOCH');
    const bundle = manifest.artifacts[0]!;
    assert.is(bundle.type, 'bundle');
    assert.is(bundle.path, 'demo-1.2.0-alpha.3.tar.gz');
    assert.equal({ size: bundle.size, sha256: bundle.sha256 }, await digestFile(join(built.dir, bundle.path)));
    assert.is(built.bundleEntries, 4, 'bin, bin/demo, web, web/index.html');
    assert.is(statSync(built.dir).mode & 0o777, 0o755, 'the release directory is servable');
    assert.equal(readdirSync(join(tree, 'releases')), ['1.2.0-alpha.3'], 'no staging directory is left');
  } finally {
    tmp.cleanup();
  }
});

test('writes tree.json describing the bundle and one object per file, shared by the next release', async () => {
  const tmp = tempDir();
  try {
    const tree = join(tmp.path, 'tree');
    const source = makeSourceTree(join(tmp.path, 'src'));
    const built = await buildRelease({ tree, app: 'demo', version: '1.0.0', sourceDir: source });
    const treeArtifact = built.manifest.artifacts.find((a) => a.type === 'tree')!;
    assert.is(treeArtifact.path, 'tree.json');
    const bytes = readFileSync(join(built.dir, 'tree.json'));
    assert.equal({ size: treeArtifact.size, sha256: treeArtifact.sha256 }, await digestFile(join(built.dir, 'tree.json')));
    const checked = parseTreeDocument(bytes, { app: 'demo', version: '1.0.0', maxUnpacked: 1 << 30 });
    assert.equal(checked.entries.map((e) => `${e.kind} ${e.path} ${e.mode.toString(8)}`), ['directory bin 755', 'file bin/demo 755', 'directory web 755', 'file web/index.html 644']);
    for (const entry of checked.entries.filter((e) => e.kind === 'file')) {
      const content = readFileSync(join(source, entry.path));
      assert.is(entry.sha256, createHash('sha256').update(content).digest('hex'));
      assert.ok(gunzipSync(readFileSync(join(tree, objectPath(entry.sha256!)))).equals(content), entry.path);
    }
    assert.equal(built.objects, { written: 2, kept: 0 });
    // The next release changes bin/demo only: web/index.html's object is kept, not written again.
    writeFileSync(join(source, 'bin', 'demo'), '#!/bin/sh\necho v2\n', { mode: 0o755 });
    const next = await buildRelease({ tree, app: 'demo', version: '1.1.0', sourceDir: source });
    assert.equal(next.objects, { written: 1, kept: 1 });
  } finally {
    tmp.cleanup();
  }
});

test('the bundle lists cleanly with tar -tvzf: owners 0/0, normalised modes', async () => {
  const tmp = tempDir();
  try {
    const tree = join(tmp.path, 'tree');
    const built = await buildRelease({ tree, app: 'demo', version: '1.0.0', sourceDir: makeSourceTree(join(tmp.path, 'src')), sourceDateEpoch: 0 });
    const listed = spawnSync('tar', ['--numeric-owner', '-tvzf', join(built.dir, 'demo-1.0.0.tar.gz')], { encoding: 'utf8' });
    assert.is(listed.status, 0, listed.stderr);
    assert.is(listed.stderr, '', 'no warnings');
    const lines = listed.stdout.trim().split('\n');
    assert.ok(lines.some((l) => /^-rwxr-xr-x 0\/0 .* (\.\/)?bin\/demo$/.test(l)), listed.stdout);
    assert.ok(lines.some((l) => /^-rw-r--r-- 0\/0 .* (\.\/)?web\/index\.html$/.test(l)), listed.stdout);
    assert.ok(lines.some((l) => /^drwxr-xr-x 0\/0 .* (\.\/)?web\/$/.test(l)), listed.stdout);
    assert.ok(lines.every((l) => / 0\/0 /.test(l)), 'every owner is 0/0');
  } finally {
    tmp.cleanup();
  }
});

test('the same input and SOURCE_DATE_EPOCH give the same bundle and manifest bytes', async () => {
  const tmp = tempDir();
  try {
    const source = makeSourceTree(join(tmp.path, 'src'));
    const first = await buildRelease({ tree: join(tmp.path, 'a'), app: 'demo', version: '2.0.0', sourceDir: source, sourceDateEpoch: 1_700_000_000 });
    // Touch every file: mtimes must not leak into the bundle.
    const later = new Date(Date.now() + 3_600_000);
    for (const f of ['bin/demo', 'web/index.html']) spawnSync('touch', ['-d', later.toISOString(), join(source, f)]);
    const second = await buildRelease({ tree: join(tmp.path, 'b'), app: 'demo', version: '2.0.0', sourceDir: source, sourceDateEpoch: 1_700_000_000 });
    assert.equal(readFileSync(first.manifestFile), readFileSync(second.manifestFile));
    assert.is(first.manifest.artifacts[0]!.sha256, second.manifest.artifacts[0]!.sha256);
  } finally {
    tmp.cleanup();
  }
});

test('published is now when no SOURCE_DATE_EPOCH is given, and --published wins over both', async () => {
  const tmp = tempDir();
  try {
    const source = makeSourceTree(join(tmp.path, 'src'));
    const tree = join(tmp.path, 'tree');
    const now = new Date('2026-11-23T10:00:00.456Z');
    const a = await buildRelease({ tree, app: 'demo', version: '1.0.0', sourceDir: source, now });
    assert.is(a.manifest.published, '2026-11-23T10:00:00Z');
    const b = await buildRelease({ tree, app: 'demo', version: '1.0.1', sourceDir: source, sourceDateEpoch: 5, published: new Date('2026-01-02T03:04:05Z') });
    assert.is(b.manifest.published, '2026-01-02T03:04:05Z');
  } finally {
    tmp.cleanup();
  }
});

test('signs manifest.json when keys are given', async () => {
  const tmp = tempDir();
  try {
    const key = await makeKey(join(tmp.path, 'keys'), 'a');
    const built = await buildRelease({
      tree: join(tmp.path, 'tree'), app: 'demo', version: '1.0.0', sourceDir: makeSourceTree(join(tmp.path, 'src')), signingKeys: [key.signing],
    });
    assert.is(built.signatureFile, `${built.manifestFile}.asc`);
    const { signers } = await verifyDetached({
      data: readFileSync(built.manifestFile), armoredSignature: readFileSync(built.signatureFile!, 'utf8'),
      keys: [key.trusted], threshold: 1, now: new Date(),
    });
    assert.equal(signers, [key.fingerprint]);
  } finally {
    tmp.cleanup();
  }
});

test('refuses a version that is not a semantic version, before writing anything', async () => {
  const tmp = tempDir();
  try {
    const tree = join(tmp.path, 'tree');
    for (const version of ['1.2', 'v1.2.0', '1.2.0/../../x', '01.2.0']) {
      const err = await rejectsWithCode(buildRelease({ tree, app: 'demo', version, sourceDir: makeSourceTree(join(tmp.path, 'src')) }), 'usage');
      assert.match(err.message, /semantic version/);
    }
    assert.not.ok(existsSync(tree), 'no tree was created');
  } finally {
    tmp.cleanup();
  }
});

test('refuses an existing release: releases are immutable', async () => {
  const tmp = tempDir();
  try {
    const tree = join(tmp.path, 'tree');
    const first = await buildRelease({ tree, app: 'demo', version: '1.0.0', sourceDir: makeSourceTree(join(tmp.path, 'src'), 'one') });
    const before = readFileSync(first.manifestFile);
    const err = await rejectsWithCode(buildRelease({ tree, app: 'demo', version: '1.0.0', sourceDir: makeSourceTree(join(tmp.path, 'src2'), 'two') }), 'usage');
    assert.match(err.message, /immutable/);
    assert.equal(readFileSync(first.manifestFile), before);
  } finally {
    tmp.cleanup();
  }
});

test('a source that breaks the bundle rules leaves no release and no staging directory', async () => {
  const tmp = tempDir();
  try {
    const tree = join(tmp.path, 'tree');
    const source = makeSourceTree(join(tmp.path, 'src'));
    writeFileSync(join(source, 'bin', 'suid'), 'x');
    chmodSync(join(source, 'bin', 'suid'), 0o4755);
    await rejectsWithCode(buildRelease({ tree, app: 'demo', version: '1.0.0', sourceDir: source }), 'bundle-policy');
    assert.equal(readdirSync(join(tree, 'releases')), [], 'nothing left in releases/');
  } finally {
    tmp.cleanup();
  }
});

test('refuses a missing source directory and a bad app name', async () => {
  const tmp = tempDir();
  try {
    const tree = join(tmp.path, 'tree');
    await rejectsWithCode(buildRelease({ tree, app: 'demo', version: '1.0.0', sourceDir: join(tmp.path, 'nope') }), 'usage');
    mkdirSync(join(tmp.path, 'empty'));
    await rejectsWithCode(buildRelease({ tree, app: '../demo', version: '1.0.0', sourceDir: join(tmp.path, 'empty') }), 'usage');
    assert.not.ok(existsSync(join(tree, 'releases', '1.0.0')));
  } finally {
    tmp.cleanup();
  }
});

test.run();
