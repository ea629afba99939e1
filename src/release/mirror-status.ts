// `tide release status`: what every mirror serves for each channel, checked as a
// host would check it (signature, threshold, expiry, app and channel), and
// whether the mirrors agree.
// SPEC formats.md#which-pointer-wins: all mirrors are asked; the valid pointer
// with the highest sequence wins — a mirror behind it is stale.
import { readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { ExitCode, TideError, type ErrorCode, type ExitCodeValue } from '../errors.js';
import { limits } from '../limits.js';
import { createMirrorClient, type MirrorClient } from '../mirror/mirror-client.js';
import { mirrorScheme } from '../mirror/mirror-path.js';
import { openChannelPointer } from '../trust/open-signed.js';
import { readTrustedKeys, type TrustedKey } from '../trust/trusted-keys.js';
import { checkName, treePaths } from './release-tree.js';

export interface StatusRequest {
  mirrors: readonly string[];
  /** Armored public key files: the keys hosts trust. */
  keyFiles: readonly string[];
  /** Distinct trusted keys that must sign, as in the hosts' config; default 1. */
  threshold?: number;
  /** When given, a pointer for another app is not valid. */
  app?: string;
  /** Channels to ask for; default: every channels/*.json on the file:// mirrors. */
  channels?: readonly string[];
  now?: Date;
  client?: MirrorClient;
}

/** Where a row stands against the best valid pointer of its channel. */
export type SyncState = 'yes' | 'behind' | 'differs' | 'invalid' | 'missing' | 'unreachable';

export interface ChannelStatusRow {
  mirror: string;
  channel: string;
  version: string | null;
  sequence: number | null;
  /** sha256 of the pointer bytes: two mirrors agree when these match. */
  pointerSha256: string | null;
  /** The signature (threshold, revocation-free) verified and the pointer parsed for this app and channel. */
  valid: boolean;
  /** Trusted keys whose signatures verified. */
  signers: string[];
  expires: string | null;
  /** Milliseconds until `expires`; negative once expired. */
  expiresInMs: number | null;
  expired: boolean;
  sync: SyncState;
  /** "yes", "behind (seq 6 < 7)", "missing", … */
  syncText: string;
  /** What went wrong for this row, if anything: a stable code and the one-line message. */
  problem: { code: ErrorCode; message: string } | null;
}

export interface StatusReport {
  rows: ChannelStatusRow[];
  allInSync: boolean;
  exitCode: ExitCodeValue;
}

export async function mirrorStatus(request: StatusRequest): Promise<StatusReport> {
  if (request.mirrors.length === 0) throw new TideError('usage', 'status needs at least one --mirror URL');
  if (request.keyFiles.length === 0) throw new TideError('usage', 'status needs at least one --key PUBLIC.asc to check signatures');
  for (const mirror of request.mirrors) mirrorScheme(mirror);
  const keys = await readTrustedKeys(request.keyFiles.map((source) => ({ source, armored: readKeyFile(source) })));
  const channels = (request.channels?.length ? [...request.channels] : discoverChannels(request.mirrors)).map((c) => checkName('channel', c));
  const now = request.now ?? new Date();
  const client = request.client ?? createMirrorClient();
  const context: RowContext = { keys, threshold: request.threshold ?? 1, app: request.app, now, client };
  const rows = await Promise.all(channels.flatMap((channel) => request.mirrors.map((mirror) => checkRow(mirror, channel, context))));
  for (const channel of channels) compareMirrors(rows.filter((r) => r.channel === channel));
  const allInSync = rows.every((r) => r.sync === 'yes');
  return { rows, allInSync, exitCode: statusExitCode(rows) };
}

/**
 * Exit codes of `tide release status`, worst first:
 *   3  a pointer is refused: bad signature, below threshold, expired, wrong app or channel, unreadable
 *   4  a mirror is unreachable, timed out, or does not serve the channel
 *   1  every answer is valid, but the mirrors disagree (one is behind or differs)
 *   0  every mirror serves the same valid, unexpired pointer for every channel
 */
export function statusExitCode(rows: readonly ChannelStatusRow[]): ExitCodeValue {
  if (rows.some((r) => r.sync === 'invalid' || r.expired)) return ExitCode.refused;
  if (rows.some((r) => r.sync === 'unreachable' || r.sync === 'missing')) return ExitCode.unreachable;
  if (rows.some((r) => r.sync !== 'yes')) return ExitCode.internal;
  return ExitCode.ok;
}

function readKeyFile(source: string): string {
  try {
    return readFileSync(source, 'utf8');
  } catch (err) {
    throw new TideError('usage', `cannot read the public key: ${(err as Error).message}`, { file: source });
  }
}

/** Channel names from channels/*.json of every file:// mirror; http mirrors cannot be listed. */
function discoverChannels(mirrors: readonly string[]): string[] {
  const found = new Set<string>();
  for (const mirror of mirrors.filter((m) => mirrorScheme(m) === 'file')) {
    try {
      for (const name of readdirSync(`${fileURLToPath(mirror)}/channels`)) {
        if (name.endsWith('.json') && !name.startsWith('.')) found.add(name.slice(0, -'.json'.length));
      }
    } catch {
      // an unreadable mirror shows up as unreachable in its rows
    }
  }
  if (found.size === 0) {
    throw new TideError('usage', 'no channel found to check: name them with --channel (required for http mirrors)');
  }
  return [...found].sort();
}

interface RowContext {
  keys: TrustedKey[];
  threshold: number;
  app: string | undefined;
  now: Date;
  client: MirrorClient;
}

async function checkRow(mirror: string, channel: string, context: RowContext): Promise<ChannelStatusRow> {
  const row: ChannelStatusRow = {
    mirror, channel, version: null, sequence: null, pointerSha256: null, valid: false, signers: [],
    expires: null, expiresInMs: null, expired: false, sync: 'invalid', syncText: '', problem: null,
  };
  const path = treePaths.channel(channel);
  try {
    const [pointerDoc, signatureDoc] = await Promise.all([
      context.client.fetchDocument(mirror, path, limits.maxDocumentBytes),
      context.client.fetchDocument(mirror, treePaths.signatureOf(path), limits.maxSignatureBytes),
    ]);
    row.pointerSha256 = createHash('sha256').update(pointerDoc.bytes).digest('hex');
    const trust = { keys: context.keys, threshold: context.threshold, revokedKeys: [], now: context.now };
    const { document: pointer, signers } = await openChannelPointer(pointerDoc.bytes, signatureDoc.bytes.toString('utf8'), trust, { mirror, file: path });
    Object.assign(row, { version: pointer.version, sequence: pointer.sequence, signers, expires: pointer.expires });
    row.expiresInMs = Date.parse(pointer.expires) - context.now.getTime();
    if (context.app !== undefined && pointer.app !== context.app) {
      throw new TideError('wrong-app', `expected app ${context.app}, found ${pointer.app}`, { mirror, file: path });
    }
    if (pointer.channel !== channel) throw new TideError('wrong-channel', `expected channel ${channel}, found ${pointer.channel}`, { mirror, file: path });
    row.valid = true;
    if (row.expiresInMs <= 0) {
      row.expired = true;
      row.problem = { code: 'expired', message: `expired at ${pointer.expires}` };
    }
  } catch (err) {
    if (!(err instanceof TideError) || err.code === 'internal') throw err;
    row.problem = { code: err.code, message: err.message };
    row.sync = err.code === 'not-found' ? 'missing' : err.exitCode === ExitCode.unreachable ? 'unreachable' : 'invalid';
  }
  return row;
}

/** Compare every valid row of one channel with the best: the highest sequence among valid pointers. */
function compareMirrors(rows: ChannelStatusRow[]): void {
  const valid = rows.filter((r) => r.valid);
  const best = valid.reduce<ChannelStatusRow | undefined>((b, r) => (!b || r.sequence! > b.sequence! ? r : b), undefined);
  for (const row of rows) {
    if (!row.valid) {
      row.syncText = row.sync === 'invalid' ? 'no (not valid)' : row.sync;
      continue;
    }
    if (row.sequence! < best!.sequence!) {
      row.sync = 'behind';
      row.syncText = `behind (seq ${row.sequence} < ${best!.sequence})`;
    } else if (row.pointerSha256 !== best!.pointerSha256) {
      row.sync = 'differs';
      row.syncText = `differs (seq ${row.sequence}, other bytes)`;
    } else {
      row.sync = 'yes';
      row.syncText = 'yes';
    }
  }
}
