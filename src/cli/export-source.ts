// `--from FILE` (SPEC trust.md#offline-updates): an export file stands in for every
// mirror of the config. It is read by a mirror client of its own, and named in every
// line by its file:// URL, like a file:// mirror.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TideError } from '../errors.js';
import { createExportMirrorClient } from '../mirror/export-mirror-client.js';
import type { MirrorClient } from '../mirror/mirror-client.js';

export interface ExportSource {
  /** The file's URL, the one "mirror" of the run. */
  mirrors: string[];
  client: MirrorClient;
}

export function exportSource(file: string | undefined): ExportSource | undefined {
  if (file === undefined) return undefined;
  const path = resolve(file);
  if (!existsSync(path) || !statSync(path).isFile()) throw new TideError('usage', `--from: expected an export file (tide release export), found none`, { file: path });
  return { mirrors: [pathToFileURL(path).href], client: createExportMirrorClient(path) };
}
