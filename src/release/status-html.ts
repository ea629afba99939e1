// `tide release status --html FILE`: gather what the page shows (the mirror rows just
// checked, the tree's pointers and rollout state per channel, the fleet's reports) and
// write the page atomically.
import { existsSync, readdirSync } from 'node:fs';
import semver from 'semver';
import { parseChannelPointer } from '../documents/parse-document.js';
import { writeFileAtomic } from '../store/atomic.js';
import { readFleetResults } from './fleet-results.js';
import type { StatusReport } from './mirror-status.js';
import { inTree, readIfExists, treePaths } from './release-tree.js';
import { readRolloutState } from './rollout-state.js';
import { renderStatusPage, type ChannelPicture } from './status-page.js';

export interface StatusPageRequest {
  file: string;
  report: StatusReport;
  app: string;
  /** The release tree, for each channel's rollout step and history (optional). */
  tree?: string;
  /** The fleet's reports directory, for the results per version (optional). */
  reports?: string;
  now?: Date;
}

function treeChannels(tree: string): string[] {
  const dir = inTree(tree, 'channels');
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.json') && !n.startsWith('.')).map((n) => n.slice(0, -'.json'.length)) : [];
}

function picture(tree: string | undefined, channel: string, now: Date): ChannelPicture {
  if (tree === undefined) return { channel, pointer: undefined, state: { history: [], halted: null } };
  const file = inTree(tree, treePaths.channel(channel));
  const bytes = readIfExists(file);
  return { channel, pointer: bytes && parseChannelPointer(bytes, { file }), state: readRolloutState(tree, channel, now) };
}

export function writeStatusPage(request: StatusPageRequest): { file: string; bytes: number } {
  const now = request.now ?? new Date();
  const names = new Set([...request.report.rows.map((r) => r.channel), ...(request.tree ? treeChannels(request.tree) : [])]);
  const channels = [...names].sort().map((c) => picture(request.tree, c, now));
  const results = request.reports === undefined ? [] : [...readFleetResults(request.reports, request.app, undefined).versions.values()]
    .sort((a, b) => (semver.valid(a.version) && semver.valid(b.version) ? semver.rcompare(a.version, b.version) : b.version.localeCompare(a.version)));
  const html = renderStatusPage({ app: request.app, now, report: request.report, channels, results });
  writeFileAtomic(request.file, html);
  return { file: request.file, bytes: Buffer.byteLength(html) };
}
