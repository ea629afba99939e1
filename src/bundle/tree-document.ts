// SPEC formats.md#the-tree-artifact: tree.json, a release's bundle tree as a list of
// entries, and the content-addressed objects that hold its files. Pure: bytes in,
// checked entries out. Every entry goes through the bundle policy, so a tree can
// never install what a bundle could not.
import { z } from 'zod';
import semver from 'semver';
import { TideError, type ErrorPlace } from '../errors.js';
import { limits } from '../limits.js';
import { createBundlePolicy, type CheckedEntry, type EntryKind } from './policy.js';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a lower-case hex sha256');
const mode = z.string().regex(/^0[0-7]{3,4}$/, 'an octal mode like "0755"');

const treeEntrySchema = z.discriminatedUnion('type', [
  z.object({ path: z.string(), type: z.literal('dir'), mode }),
  z.object({ path: z.string(), type: z.literal('file'), mode, size: z.number().int().nonnegative(), sha256 }),
  z.object({ path: z.string(), type: z.literal('symlink'), target: z.string() }),
]);

export const treeDocumentSchema = z.object({
  schema: z.literal(1),
  app: z.string(),
  version: z.string().refine((v) => semver.valid(v) === v, 'a semantic version'),
  entries: z.array(treeEntrySchema),
});

export type TreeDocument = z.infer<typeof treeDocumentSchema>;
export type TreeEntry = z.infer<typeof treeEntrySchema>;

/** A tree entry the bundle policy accepted; files carry their sha256. */
export type CheckedTreeEntry = CheckedEntry & { sha256?: string };

/** A verified tree: its entries in the document's order, policy-checked. */
export interface CheckedTree {
  app: string;
  version: string;
  entries: CheckedTreeEntry[];
  /** Bytes of all files together. */
  unpackedBytes: number;
}

const tarTypeOf: Record<TreeEntry['type'], string> = { dir: 'Directory', file: 'File', symlink: 'SymbolicLink' };
const treeTypeOf: Record<EntryKind, TreeEntry['type']> = { directory: 'dir', file: 'file', symlink: 'symlink' };

/** SPEC formats.md#the-tree-artifact: objects/<first two hex digits>/<sha256>.gz under the mirror tree's root. */
export const objectPath = (sha: string): string => `objects/${sha.slice(0, 2)}/${sha}.gz`;

/**
 * Parse tree.json (its size and sha256 already checked against the signed manifest)
 * and check every entry under the bundle policy, for `app` and `version`.
 */
export function parseTreeDocument(
  bytes: Uint8Array,
  expected: { app: string; version: string; maxUnpacked: number },
  where: ErrorPlace = {},
): CheckedTree {
  if (bytes.byteLength > limits.maxTreeDocumentBytes) {
    throw new TideError('size', `expected tree.json of at most ${limits.maxTreeDocumentBytes} bytes, found ${bytes.byteLength}`, where);
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new TideError('schema', `tree.json is not valid JSON: ${(err as Error).message}`, where);
  }
  const parsed = treeDocumentSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new TideError('schema', `tree.json field ${issue.path.join('.') || '(document)'}: ${issue.message}`, where);
  }
  const tree = parsed.data;
  if (tree.app !== expected.app || tree.version !== expected.version) {
    throw new TideError('schema', `expected tree.json of ${expected.app} ${expected.version}, found ${tree.app} ${tree.version}`, where);
  }
  return checkTreeEntries(tree, expected.maxUnpacked, where);
}

/** SPEC formats.md#bundle-rules: every rule a bundle's entries follow, a tree's follow too. */
export function checkTreeEntries(tree: TreeDocument, maxUnpacked: number, where: ErrorPlace = {}): CheckedTree {
  const policy = createBundlePolicy({ maxUnpacked });
  const entries: CheckedTreeEntry[] = [];
  for (const entry of tree.entries) {
    try {
      const checked = policy.check({
        path: entry.path,
        type: tarTypeOf[entry.type],
        ...(entry.type !== 'symlink' ? { mode: parseInt(entry.mode, 8) } : {}),
        ...(entry.type === 'file' ? { size: entry.size } : {}),
        ...(entry.type === 'symlink' ? { linkpath: entry.target } : {}),
      });
      entries.push(entry.type === 'file' ? { ...checked, sha256: entry.sha256 } : checked);
    } catch (err) {
      throw err instanceof TideError ? err.at(where) : err;
    }
  }
  return { app: tree.app, version: tree.version, entries, unpackedBytes: policy.unpackedBytes };
}

/** The tree.json of a bundle's entries (publisher side), bytes as written. */
export function treeDocumentBytes(app: string, version: string, entries: readonly CheckedTreeEntry[]): Buffer {
  const document: TreeDocument = {
    schema: 1,
    app,
    version,
    entries: entries.map((e): TreeEntry => {
      const path = e.path;
      if (e.kind === 'symlink') return { path, type: 'symlink', target: e.linkpath! };
      const octal = '0' + e.mode.toString(8).padStart(3, '0');
      if (e.kind === 'directory') return { path, type: treeTypeOf[e.kind] as 'dir', mode: octal };
      return { path, type: 'file', mode: octal, size: e.size, sha256: e.sha256! };
    }),
  };
  return Buffer.from(JSON.stringify(document) + '\n');
}
