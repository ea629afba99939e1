// Where a mirror-relative path lives on a mirror. The paths come from signed
// documents, but the join itself must never let a path climb out of the mirror
// tree, whatever the base looks like ("…/demo" or "…/demo/").
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TideError, type ErrorPlace } from '../errors.js';

// Control characters and the backslash have no business in a mirror path.
const forbiddenCharacters = /[\u0000-\u001f\u007f\\]/;

/**
 * The path's segments, or a refusal.
 * SPEC formats.md#artifact-paths: `path` is relative, with no `..` and no leading `/`.
 */
export function mirrorPathSegments(mirror: string, path: string): string[] {
  const where: ErrorPlace = { mirror, file: path };
  const refusePath = (why: string): TideError =>
    new TideError('schema', `expected a mirror-relative path, found ${JSON.stringify(path)}: ${why}`, where);
  if (path.length === 0) throw refusePath('it is empty');
  if (path.startsWith('/')) throw refusePath('it starts with "/"');
  if (forbiddenCharacters.test(path)) throw refusePath('it holds a control character or a backslash');
  const segments = path.split('/');
  for (const segment of segments) {
    if (segment === '..') throw refusePath('it has a ".." component');
    if (segment === '.' || segment === '') throw refusePath('it has an empty or "." component');
  }
  return segments;
}

/** The mirror's scheme, which picks the client: http(s) or file. */
export function mirrorScheme(mirror: string): 'http' | 'file' {
  let protocol: string;
  try {
    protocol = new URL(mirror).protocol;
  } catch {
    throw new TideError('config', `expected a mirror URL, found ${JSON.stringify(mirror)}`, { mirror });
  }
  if (protocol === 'http:' || protocol === 'https:') return 'http';
  if (protocol === 'file:') return 'file';
  throw new TideError('config', `expected an http://, https:// or file:// mirror, found ${protocol}`, { mirror });
}

/** The URL of `path` under an http(s) mirror; every segment is percent-encoded. */
export function mirrorHttpUrl(mirror: string, path: string): string {
  const segments = mirrorPathSegments(mirror, path);
  const url = new URL(mirror);
  // The base is a directory whether or not it ends in "/"; a query on the base
  // (a CDN token) is kept, a fragment is meaningless to a server.
  const directory = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
  url.pathname = directory + segments.map(encodeURIComponent).join('/');
  url.hash = '';
  return url.toString();
}

/** The local file of `path` under a file:// mirror. */
export function mirrorFilePath(mirror: string, path: string): string {
  const segments = mirrorPathSegments(mirror, path);
  let root: string;
  try {
    root = fileURLToPath(mirror);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new TideError('config', `expected a file:// URL of a local directory: ${why}`, { mirror });
  }
  return join(root, ...segments);
}
