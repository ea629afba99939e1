// The root chain in a release tree (keys/root.<N>.json, as mirrors serve it): the
// newest root, read back for rotate-keys, promote's and export's re-checks.
import { readdirSync } from 'node:fs';
import { TideError } from '../errors.js';
import { parseRootDocument, rootPath, type RootDocument } from '../documents/root-document.js';
import { keysOfRoot, type TrustedRoot } from '../trust/trusted-root.js';
import { inTree, readIfExists, treePaths } from './release-tree.js';

export interface TreeRoot {
  root: TrustedRoot;
  document: RootDocument;
  file: string;
}

/** Root versions the tree holds, ascending. */
export function treeRootVersions(tree: string): number[] {
  let names: string[];
  try {
    names = readdirSync(inTree(tree, treePaths.keysDir));
  } catch {
    return [];
  }
  return names.flatMap((n) => /^root\.([1-9]\d*)\.json$/.exec(n)?.[1] ?? []).map(Number).sort((a, b) => a - b);
}

/** The newest root of the tree, or undefined when it has none (hosts trust their config's root 1). */
export async function readNewestTreeRoot(tree: string): Promise<TreeRoot | undefined> {
  const version = treeRootVersions(tree).at(-1);
  if (version === undefined) return undefined;
  const file = inTree(tree, rootPath(version));
  const where = { file };
  const bytes = readIfExists(file)!;
  const asc = readIfExists(treePaths.signatureOf(file));
  if (!asc) throw new TideError('signature', `${rootPath(version)} is not signed`, where);
  const document = parseRootDocument(bytes, where);
  if (document.version !== version) throw new TideError('schema', `${rootPath(version)} says version ${document.version}`, where);
  const keys = await keysOfRoot(document, where);
  const root: TrustedRoot = {
    version, app: document.app, keys, threshold: document.threshold, expires: document.expires,
    ...(document.sequences && { sequences: document.sequences }), signed: { bytes, asc: asc.toString('utf8') },
  };
  return { root, document, file };
}
