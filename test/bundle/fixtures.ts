// Hostile tarballs for the bundle tests, crafted by Python's tarfile, which writes
// any header asked of it: devices, hard links, setuid, `..`, raw bytes in names.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as assert from 'uvu/assert';
import { operatorLine, type ErrorCode, type TideError } from '../../src/errors.js';
import { extractBundle } from '../../src/bundle/extract.js';
import type { CheckedTree } from '../../src/bundle/tree-document.js';
import { rejectsWithCode } from '../helpers/assert-error.js';
import { tempDir } from '../helpers/tmp.js';

export interface CraftedEntry {
  name?: string;
  /** The name as raw bytes, in hex (for names that are not UTF-8). */
  nameHex?: string;
  /** file | dir | symlink | hardlink | chr | blk | fifo | contiguous | global (a global pax header), or one raw typeflag character. */
  type?: string;
  mode?: number;
  data?: string;
  /** That many zero bytes. */
  zeros?: number;
  /** That many zero bytes with one random byte per KiB: compresses about 250:1. */
  bomb?: number;
  /** Declared size, when it should differ from the data's. */
  size?: number;
  linkname?: string;
  uid?: number;
  gid?: number;
  pax?: Record<string, string>;
  /** Stop the archive after this entry's header and data: no padding, no end marker. */
  truncate?: boolean;
}

export interface CraftSpec {
  format?: 'pax' | 'gnu' | 'ustar';
  entries: CraftedEntry[];
  /** Leave out the end-of-archive marker. */
  noEnd?: boolean;
}

const craftScript = String.raw`
import sys, json, tarfile, random, io
types = {'file': tarfile.REGTYPE, 'dir': tarfile.DIRTYPE, 'symlink': tarfile.SYMTYPE, 'hardlink': tarfile.LNKTYPE,
         'chr': tarfile.CHRTYPE, 'blk': tarfile.BLKTYPE, 'fifo': tarfile.FIFOTYPE, 'contiguous': tarfile.CONTTYPE}
def text(e, key):
    if key + 'Hex' in e:
        return bytes.fromhex(e[key + 'Hex']).decode('utf-8', 'surrogateescape')
    return e.get(key, '')
def data_of(e):
    if 'data' in e: return e['data'].encode()
    if 'zeros' in e: return bytes(e['zeros'])
    if 'bomb' in e:
        b = bytearray(e['bomb']); r = random.Random(7)
        for i in range(0, len(b), 1024): b[i] = r.randrange(1, 256)
        return bytes(b)
    return b''
def craft(spec, out):
    fmt = {'pax': tarfile.PAX_FORMAT, 'gnu': tarfile.GNU_FORMAT, 'ustar': tarfile.USTAR_FORMAT}[spec.get('format', 'pax')]
    for e in spec['entries']:
        t = e.get('type', 'file')
        if t == 'global':
            out.write(tarfile.TarInfo._create_pax_generic_header(e.get('pax', {}), tarfile.XGLTYPE, 'utf-8'))
            continue
        ti = tarfile.TarInfo(text(e, 'name'))
        ti.type = types[t] if t in types else t.encode()
        ti.mode = e.get('mode', 0o755 if t == 'dir' else 0o644)
        ti.uid = e.get('uid', 0); ti.gid = e.get('gid', 0)
        ti.mtime = 1700000000
        ti.linkname = text(e, 'linkname')
        if t in ('chr', 'blk'): ti.devmajor, ti.devminor = 1, 3
        if 'pax' in e: ti.pax_headers = e['pax']
        data = data_of(e)
        ti.size = e.get('size', len(data))
        out.write(ti.tobuf(fmt, 'utf-8', 'surrogateescape'))
        out.write(data)
        if e.get('truncate'): return
        out.write(bytes((512 - len(data) % 512) % 512))
    if not spec.get('noEnd'): out.write(bytes(1024 + 8704))
for spec in json.load(sys.stdin):
    out = io.BytesIO()
    craft(spec, out)
    sys.stdout.buffer.write(len(out.getvalue()).to_bytes(8, 'big') + out.getvalue())
`;

/** Uncompressed tars, exactly as specified, from one Python process (it starts slowly). */
export function craftTars(specs: CraftSpec[]): Buffer[] {
  const output = execFileSync('python3', ['-I', '-S', '-c', craftScript], { input: JSON.stringify(specs), maxBuffer: 1 << 30 });
  const tars: Buffer[] = [];
  for (let offset = 0; offset < output.length; ) {
    const length = Number(output.readBigUInt64BE(offset));
    tars.push(output.subarray(offset + 8, offset + 8 + length));
    offset += 8 + length;
  }
  return tars;
}

export const craftTar = (spec: CraftSpec): Buffer => craftTars([spec])[0]!;

/** .tar.gz files, exactly as specified. */
export const craftBundles = (specs: CraftSpec[]): Buffer[] => craftTars(specs).map((tar) => gzipSync(tar));

/** A .tar.gz, exactly as specified. */
export const craftBundle = (spec: CraftSpec): Buffer => gzipSync(craftTar(spec));

export interface RefusalExpectation {
  code: ErrorCode;
  /** The entry the refusal must name (err.where.entry and the operator's line). */
  entry?: string;
  maxUnpacked?: number;
  maxEntries?: number;
  /** Runs with the temp dir before extraction: plant things outside the staging dir. */
  plant?: (dir: string) => void;
  /** Runs after the refusal: check nothing outside the staging dir changed. */
  after?: (dir: string) => void;
  /** The release's tree, which the bundle must agree with. */
  tree?: CheckedTree;
}

/**
 * Extracts `archive` (or the one built for the temp dir) and expects a refusal: the code, the entry named, the staging
 * directory gone, and nothing new next to it.
 */
export async function expectRefusal(archive: Buffer | ((dir: string) => Buffer), expected: RefusalExpectation): Promise<TideError> {
  const tmp = tempDir('tide-bundle-');
  try {
    const archivePath = join(tmp.path, 'bundle.tar.gz');
    expected.plant?.(tmp.path);
    writeFileSync(archivePath, typeof archive === 'function' ? archive(tmp.path) : archive);
    const before = readdirSync(tmp.path).sort();
    const stagingDir = join(tmp.path, 'staging');
    const err = await rejectsWithCode(
      extractBundle({ archivePath, stagingDir, maxUnpacked: expected.maxUnpacked ?? 2 ** 30, maxEntries: expected.maxEntries, tree: expected.tree }),
      expected.code,
    );
    assert.not.ok(existsSync(stagingDir), 'the staging directory must be gone');
    assert.equal(readdirSync(tmp.path).sort(), before, 'nothing may appear next to the staging directory');
    if (expected.entry !== undefined) {
      assert.is(err.where.entry, expected.entry);
      assert.ok(operatorLine(err).includes(JSON.stringify(expected.entry)), operatorLine(err));
    }
    expected.after?.(tmp.path);
    return err;
  } finally {
    tmp.cleanup();
  }
}
