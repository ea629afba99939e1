// What every refusal test of the real CLI asserts: the exit code, the one line
// (what was wrong, and where: mirror, file, entry), and that the running version
// is untouched — the links, the served version, versions/, no staging left, no
// restart, and state.json's accepted sequences, bad list and history unchanged.
import * as assert from 'uvu/assert';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { HostFixture, TideRun } from '../helpers/host-fixture.js';

export interface HostSnapshot {
  /** Every path under state_dir but the staging area, state.json and the lock files, with its kind, mode, size or link target. */
  tree: string[];
  link: string | null;
  served: string;
  restarts: number;
  sequences: Record<string, number>;
  bad: string[];
  history: number;
}

// Written by every run, refusal or not: the run's bookkeeping, its staging area and the cache of
// fetched documents (verified again on every run), not the running version.
const bookkeeping = new Set(['state.json', 'tide.lock', 'tide.lock.holder', 'staging', 'cache', 'config.accepted']);

function walk(root: string, prefix = ''): string[] {
  let names: string[];
  try {
    names = readdirSync(join(root, prefix)).sort();
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const rel = prefix ? `${prefix}/${name}` : name;
    if (!prefix && bookkeeping.has(name)) return [];
    const stat = lstatSync(join(root, rel));
    if (stat.isSymbolicLink()) return [`${rel} -> ${readlinkSync(join(root, rel))}`];
    const mode = (stat.mode & 0o7777).toString(8);
    if (stat.isDirectory()) return [`${rel}/ ${mode}`, ...walk(root, rel)];
    return [`${rel} ${mode} ${stat.size}`];
  });
}

function restartCount(host: HostFixture): number {
  const log = join(host.dir, 'restarts.log');
  return existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').length : 0;
}

function readLink(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
}

export async function snapshotHost(host: HostFixture): Promise<HostSnapshot> {
  const state = existsSync(join(host.stateDir, 'state.json')) ? host.stateJson() : { sequences: {}, bad: [], history: [] };
  return {
    tree: walk(host.stateDir),
    link: readLink(host.linkPath),
    served: await host.serving(),
    restarts: restartCount(host),
    sequences: state.sequences,
    bad: state.bad,
    history: state.history.length,
  };
}

/**
 * Nothing outside the staging area changed, and no staging is left. With `pointerAccepted`
 * (the pointer was valid, the release it names was refused) its sequence may have risen.
 */
export async function assertUntouched(host: HostFixture, before: HostSnapshot, options: { pointerAccepted?: boolean } = {}): Promise<void> {
  const after = await snapshotHost(host);
  const staging = join(host.stateDir, 'staging');
  assert.ok(!existsSync(staging) || readdirSync(staging).length === 0, `staging left behind: ${existsSync(staging) ? readdirSync(staging).join(', ') : ''}`);
  if (options.pointerAccepted) {
    for (const [channel, sequence] of Object.entries(before.sequences)) {
      assert.ok((after.sequences[channel] ?? -1) >= sequence, `the accepted sequence of ${channel} went down`);
    }
    assert.equal({ ...after, sequences: {} }, { ...before, sequences: {} }, 'the host changed');
  } else {
    assert.equal(after, before, 'the host changed');
  }
}

export interface ExpectedRefusal {
  exit: number;
  /** The stable error code the line starts with, e.g. 'signature'. */
  code: string;
  /** What the line must say was wrong. */
  message: RegExp;
  mirror?: string;
  file?: string;
  entry?: string;
}

/** The run's one error line: the last line on stderr. */
export function errorLine(run: TideRun): string {
  const lines = run.stderr.trim().split('\n');
  return lines[lines.length - 1] ?? '';
}

export function assertRefused(run: TideRun, expected: ExpectedRefusal): string {
  const line = errorLine(run);
  // TIDE_TEST_SHOW_LINES=1: print every line checked, to read them all at once.
  if (process.env.TIDE_TEST_SHOW_LINES) console.log(`[${run.code}] ${line}`);
  const context = `stdout: ${run.stdout}\nstderr: ${run.stderr}`;
  assert.is(run.code, expected.exit, `exit code; ${context}`);
  assert.ok(line.startsWith(`tide: ${expected.code}: `), `expected a "${expected.code}" line, got: ${line}`);
  assert.match(line, expected.message, `what was wrong: ${line}`);
  if (expected.mirror !== undefined) assert.ok(line.includes(`mirror ${expected.mirror}`), `names the mirror ${expected.mirror}: ${line}`);
  if (expected.file !== undefined) assert.ok(line.includes(`file ${expected.file}`), `names the file ${expected.file}: ${line}`);
  if (expected.entry !== undefined) assert.ok(line.includes(`entry ${JSON.stringify(expected.entry)}`), `names the entry ${expected.entry}: ${line}`);
  return line;
}

/** The fast health settings refusal tests use: the first install is not what they test. */
export const quickHealth = `[health]
timeout = "8s"
interval = "100ms"
stable = "300ms"
`;

/** Publish and install `version` (a healthy build), asserting it committed. */
export async function installFirst(host: HostFixture, version = '1.0.0'): Promise<void> {
  await host.publish(version);
  const run = await host.tide(['update']);
  assert.is(run.code, 0, `first install: ${run.stdout}${run.stderr}`);
  assert.is(await host.serving(), `demo ${version}`);
}
