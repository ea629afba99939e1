// `tide release status`: what every mirror serves for each channel, checked as a
// host would check it — by the same trust store: the roots the mirrors publish
// walked from the given keys, their revocations applied, then each pointer
// (signature, threshold, expiry, app and channel) — and whether the mirrors agree.
// SPEC formats.md#which-pointer-wins: all mirrors are asked; the valid pointer with the highest
// sequence wins — a mirror behind it is stale, one with other bytes at that
// sequence is equivocating (SPEC trust.md#equivocation).
import { readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { ExitCode, TideError, type ErrorCode, type ExitCodeValue } from '../errors.js';
import { limits } from '../limits.js';
import type { Logger } from '../log/logger.js';
import type { MirrorClient } from '../mirror/mirror-client.js';
import { createMirrorClient } from '../mirror/create-mirror-client.js';
import { mirrorScheme } from '../mirror/mirror-path.js';
import { parseChannelPointer } from '../documents/parse-document.js';
import { findRevocations } from '../plan/find-release.js';
import { walkRoots } from '../plan/walk-roots.js';
import { readTrustedKeys } from '../trust/trusted-keys.js';
import { configRoot } from '../trust/trusted-root.js';
import { TrustStore } from '../trust/trust-store.js';
import { checkName, treePaths } from './release-tree.js';

export interface StatusRequest {
  mirrors: readonly string[];
  /** Armored public key files: the keys hosts trust (their root 1). */
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
  /** The signature verified (newest root, threshold, revoked keys ignored) and the pointer parsed for this app and channel. */
  valid: boolean;
  /** Trusted keys whose signatures verified. */
  signers: string[];
  expires: string | null;
  /** When the pointer this mirror serves was promoted. */
  published: string | null;
  /** How far this mirror is behind the channel's best valid pointer: sequences and promotion time (0, 0 in sync); null when not valid. */
  lag: { sequences: number; ms: number } | null;
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
  /** The app checked (--app, or the one the first readable pointer names). */
  app: string;
  rows: ChannelStatusRow[];
  allInSync: boolean;
  exitCode: ExitCodeValue;
  /** The root the rows were checked with (1: the given keys). */
  rootVersion: number;
  /** Roots or revocations a host would ignore, one line each. */
  notes: string[];
}

export async function mirrorStatus(request: StatusRequest): Promise<StatusReport> {
  if (request.mirrors.length === 0) throw new TideError('usage', 'status needs at least one --mirror URL');
  if (request.keyFiles.length === 0) throw new TideError('usage', 'status needs at least one --key PUBLIC.asc to check signatures');
  for (const mirror of request.mirrors) mirrorScheme(mirror);
  const keys = await readTrustedKeys(request.keyFiles.map((source) => ({ source, armored: readKeyFile(source) })));
  const channels = (request.channels?.length ? [...request.channels] : discoverChannels(request.mirrors)).map((c) => checkName('channel', c));
  const now = request.now ?? new Date();
  const client = request.client ?? createMirrorClient();
  const fetched = await Promise.all(channels.flatMap((channel) => request.mirrors.map((mirror) => fetchPointer(client, mirror, channel))));
  const app = request.app ?? appNamedBy(fetched) ?? 'unknown';
  const notes: string[] = [];
  const logger: Logger = { log: (level, event) => { if (level === 'warn') notes.push(event.message); } };
  const threshold = request.threshold ?? 1;
  if (threshold > keys.length) throw new TideError('usage', `--threshold ${threshold} is more than the ${keys.length} key(s) given`);
  // One store, as a host with no memory would have: roots, then revocations, then each channel.
  const store = new TrustStore({ app, channel: channels[0]!, root: configRoot(app, keys, threshold), now, accepted: {}, revocations: { sequence: null, versions: [], keys: [] } });
  await walkRoots({ mirrors: request.mirrors, client, store, logger, saveRoot: () => undefined });
  store.finishRoots();
  await findRevocations({ mirrors: request.mirrors, client, store, logger });
  const rows: ChannelStatusRow[] = [];
  for (const channel of channels) {
    const channelStore = store.forChannel(channel);
    const channelRows = await Promise.all(fetched.filter((f) => f.channel === channel).map((f) => checkRow(channelStore, f, now)));
    compareMirrors(channelRows);
    applyVerdict(channelStore, channelRows);
    rows.push(...channelRows);
  }
  const allInSync = rows.every((r) => r.sync === 'yes');
  return { app, rows, allInSync, exitCode: statusExitCode(rows), rootVersion: store.trustedRoot.version, notes };
}

/**
 * Exit codes of `tide release status`, worst first:
 *   3  a pointer is refused: bad signature, below threshold, expired, wrong app or channel,
 *      equivocation, a revoked version, unreadable
 *   4  a mirror is unreachable, timed out, or does not serve the channel
 *   1  every answer is valid, but the mirrors disagree (one is behind)
 *   0  every mirror serves the same valid, unexpired pointer for every channel
 */
export function statusExitCode(rows: readonly ChannelStatusRow[]): ExitCodeValue {
  const refused = (r: ChannelStatusRow) => r.problem !== null && new TideError(r.problem.code, '').exitCode === ExitCode.refused;
  if (rows.some((r) => r.sync === 'invalid' || r.expired || refused(r))) return ExitCode.refused;
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

type FetchedPointer = { mirror: string; channel: string } & ({ bytes: Buffer; asc: string } | { error: TideError });

async function fetchPointer(client: MirrorClient, mirror: string, channel: string): Promise<FetchedPointer> {
  const path = treePaths.channel(channel);
  try {
    const [pointer, signature] = await Promise.all([
      client.fetchDocument(mirror, path, limits.maxDocumentBytes),
      client.fetchDocument(mirror, treePaths.signatureOf(path), limits.maxSignatureBytes),
    ]);
    return { mirror, channel, bytes: pointer.bytes, asc: signature.bytes.toString('utf8') };
  } catch (err) {
    if (!(err instanceof TideError) || err.code === 'internal') throw err;
    return { mirror, channel, error: err };
  }
}

/** Without --app: the app the first readable pointer names (it is then verified like any other). */
function appNamedBy(fetched: readonly FetchedPointer[]): string | undefined {
  for (const f of fetched) {
    if ('error' in f) continue;
    try {
      return parseChannelPointer(f.bytes).app;
    } catch {
      // not this one
    }
  }
  return undefined;
}

function emptyRow(mirror: string, channel: string): ChannelStatusRow {
  return {
    mirror, channel, version: null, sequence: null, pointerSha256: null, valid: false, signers: [],
    expires: null, published: null, lag: null, expiresInMs: null, expired: false, sync: 'invalid', syncText: '', problem: null,
  };
}

// Refused after the signature verified: what the pointer says can be shown.
const signedButRefused: readonly ErrorCode[] = ['expired', 'wrong-app', 'wrong-channel'];

async function checkRow(store: TrustStore, fetched: FetchedPointer, now: Date): Promise<ChannelStatusRow> {
  const row = emptyRow(fetched.mirror, fetched.channel);
  if ('error' in fetched) {
    row.problem = { code: fetched.error.code, message: fetched.error.message };
    row.sync = fetched.error.code === 'not-found' ? 'missing' : fetched.error.exitCode === ExitCode.unreachable ? 'unreachable' : 'invalid';
    return row;
  }
  row.pointerSha256 = createHash('sha256').update(fetched.bytes).digest('hex');
  const show = (p: { version: string; sequence: number; expires: string; published: string }) => {
    Object.assign(row, { version: p.version, sequence: p.sequence, expires: p.expires, published: p.published, expiresInMs: Date.parse(p.expires) - now.getTime() });
  };
  try {
    const { pointer, signers } = await store.offerPointer({ mirror: fetched.mirror, bytes: fetched.bytes, asc: fetched.asc });
    show(pointer);
    Object.assign(row, { valid: true, signers });
  } catch (err) {
    if (!(err instanceof TideError) || err.code === 'internal') throw err;
    row.problem = { code: err.code, message: err.message };
    if (signedButRefused.includes(err.code)) show(parseChannelPointer(fetched.bytes));
    if (err.code === 'expired') Object.assign(row, { valid: true, expired: true, problem: { code: 'expired', message: `expired at ${row.expires}` } });
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
    row.lag = { sequences: best!.sequence! - row.sequence!, ms: Math.max(0, Date.parse(best!.published!) - Date.parse(row.published!)) };
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

/** What a host would conclude from these rows: equivocation or a revoked version refuses the channel. */
function applyVerdict(store: TrustStore, rows: ChannelStatusRow[]): void {
  try {
    store.settlePointer();
  } catch (err) {
    if (!(err instanceof TideError)) throw err;
    if (err.code !== 'equivocation' && err.code !== 'revoked') return; // every row already says why
    const best = Math.max(...rows.filter((r) => r.valid && !r.expired).map((r) => r.sequence!));
    for (const row of rows.filter((r) => r.valid && r.sequence === best)) {
      row.problem = { code: err.code, message: err.message };
      if (err.code === 'equivocation') {
        row.sync = 'differs';
        row.syncText = `no (equivocation, seq ${best})`;
      }
    }
  }
}
