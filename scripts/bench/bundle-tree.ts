// The release tree the staging benchmarks unpack: ~2000 files of mixed sizes, 60 %
// of the bytes random (images, compressed assets: incompressible) and 40 % text
// (JS, HTML: gzip takes it to about a quarter), packed by GNU tar the way the
// host fixture packs releases. Deterministic for one seed, so runs compare.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { seededRandom } from '../lib/seeded-random.js';

export interface TreeSpec {
  /** Bytes of all files together. */
  totalBytes: number;
  files: number;
  /** Share of the bytes that is random. */
  incompressible: number;
}

export interface BuiltTree {
  dir: string;
  files: number;
  bytes: number;
}

export interface PackedBundle {
  path: string;
  size: number;
  sha256: string;
}

const words = ('function return const let await async import export default class extends ' +
  'this props state render value index length module require string number object ' +
  'undefined null true false error promise resolve reject window document element').split(' ');

/** Pseudo source code: words from a small vocabulary, compresses like real JS. */
function textCorpus(bytes: number, random: () => number): Buffer {
  const parts: string[] = [];
  let length = 0;
  while (length < bytes) {
    const line = Array.from({ length: 3 + Math.floor(random() * 9) }, () => words[Math.floor(random() * words.length)]).join(' ');
    const indented = ' '.repeat(Math.floor(random() * 4) * 2) + line + (random() < 0.3 ? ` ${Math.floor(random() * 1e6)};\n` : ';\n');
    parts.push(indented);
    length += indented.length;
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

/** Random bytes from a counter-mode hash: fast and repeatable. */
function randomBlock(bytes: number, seed: number): Buffer {
  const block = Buffer.allocUnsafe(bytes);
  for (let offset = 0, counter = 0; offset < bytes; counter += 1) {
    const digest = createHash('sha512').update(`${seed}:${counter}`).digest();
    offset += digest.copy(block, offset);
  }
  return block;
}

/** File sizes from a log-uniform spread (1 KiB … 4 MiB), scaled to the total. */
function fileSizes(spec: TreeSpec, random: () => number): number[] {
  const raw = Array.from({ length: spec.files }, () => Math.exp(Math.log(1024) + random() * Math.log(4096)));
  const scale = spec.totalBytes / raw.reduce((a, b) => a + b, 0);
  return raw.map((size) => Math.max(1, Math.round(size * scale)));
}

function writeWhole(path: string, bytes: Buffer, mode: number): void {
  const fd = openSync(path, 'w', mode);
  try {
    for (let offset = 0; offset < bytes.length;) offset += writeSync(fd, bytes, offset);
  } finally {
    closeSync(fd);
  }
  chmodSync(path, mode);
}

/** SPEC formats.md#modes-and-owners: write the tree: dirs 0755, files 0644 (one in fifty 0755). */
export function writeBenchTree(dir: string, spec: TreeSpec, seed = 1): BuiltTree {
  const random = seededRandom(seed);
  const corpus = textCorpus(8 * 1024 * 1024, random);
  const noise = randomBlock(16 * 1024 * 1024, seed);
  const sizes = fileSizes(spec, random);
  let bytes = 0;
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  sizes.forEach((size, index) => {
    const sub = join(dir, `pkg-${index % 40}`, `part-${index % 7}`);
    mkdirSync(sub, { recursive: true, mode: 0o755 });
    const isText = random() >= spec.incompressible;
    const source = isText ? corpus : noise;
    const chunks: Buffer[] = [];
    for (let left = size; left > 0;) {
      const start = Math.floor(random() * (source.length - Math.min(left, source.length)));
      const take = Math.min(left, source.length - start);
      chunks.push(source.subarray(start, start + take));
      left -= take;
    }
    writeWhole(join(sub, `file-${index}.${isText ? 'js' : 'bin'}`), Buffer.concat(chunks), index % 50 === 0 ? 0o755 : 0o644);
    bytes += size;
  });
  spawnSync('chmod', ['-R', 'u=rwX,go=rX', dir]);
  return { dir, files: sizes.length, bytes };
}

function sha256File(path: string): string {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  const buffer = Buffer.allocUnsafe(1 << 20);
  try {
    for (let read = readSync(fd, buffer); read > 0; read = readSync(fd, buffer)) hash.update(buffer.subarray(0, read));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** Pack like the host fixture: GNU tar, sorted, owner 0/0, mtime 0, gzip -6. */
export function packBundle(tree: BuiltTree, outFile: string): PackedBundle {
  const tar = spawnSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-czf', outFile, '-C', tree.dir, '.']);
  if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr.toString().trim()}`);
  return { path: outFile, size: statSync(outFile).size, sha256: sha256File(outFile) };
}
