// The rollout controller's lab: a release tree with 1.0.0 out to everyone and 1.1.0 at 1 %
// (fallback 1.0.0), real keys made from the test's clock, a reports directory, and
// `tide release rollout` run as a process with --now relative to when the lab was made.
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/tmp.js';
import { makeKey, makeSignedRelease, openSigned, type TestKey } from './release-fixtures.js';
import { parseChannelPointer } from '../../src/documents/parse-document.js';
import type { ChannelPointer } from '../../src/documents/schemas.js';
import { promoteChannel } from '../../src/release/promote-channel.js';

const bin = fileURLToPath(new URL('../../src/cli/bin.js', import.meta.url));

export interface Lab {
  dir: string;
  tree: string;
  reports: string;
  key: TestKey;
  t0: Date;
  tide(...args: string[]): { code: number | null; stdout: string; stderr: string };
  rollout(at: number, ...more: string[]): { code: number | null; stdout: string; stderr: string };
  report(name: string, at: number, fields: Record<string, unknown>): void;
  pointer(): Promise<ChannelPointer>;
  pointerBytes(): Buffer;
  cleanup(): void;
}

/** 1.0.0 out to everyone, 1.1.0 promoted to 1 % (its fallback 1.0.0), and an empty reports directory. */
export async function makeLab(): Promise<Lab> {
  const tmp = tempDir('tide-rollout-');
  const dir = tmp.path;
  // The lab's clock starts hours ago, so every pointer the runs sign (at t0 + a few hours) is
  // already in the past for anything that verifies it at the real time (tide release status).
  const t0 = new Date(Date.now() - 8 * 3600_000);
  const tree = join(dir, 'release-tree');
  const reports = join(dir, 'reports');
  mkdirSync(reports);
  const key = await makeKey(join(dir, 'keys'), 'a', t0);
  for (const v of ['1.0.0', '1.1.0']) await makeSignedRelease(tree, dir, v, key, t0);
  const tide = (...args: string[]) => {
    const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, TIDE_KEY_PASSPHRASE: '' }, timeout: 60_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  // Promoted at t0 (the CLI's promote would sign at the real time, hours after the lab's clock).
  await promoteChannel({ tree, app: 'demo', channel: 'stable', version: '1.0.0', signingKeys: [key.signing], now: t0 });
  await promoteChannel({ tree, app: 'demo', channel: 'stable', version: '1.1.0', rolloutPercent: 1, signingKeys: [key.signing], now: t0 });
  const at = (offset: number) => new Date(t0.getTime() + offset).toISOString();
  return {
    dir, tree, reports, key, t0, tide,
    rollout: (offset, ...more) => tide('release', 'rollout', '--tree', tree, '--app', 'demo', '--channel', 'stable', '--key', key.privatePath,
      ...(more.includes('--prometheus') ? [] : ['--reports', reports]), '--steps', '1,10,50,100', '--every', '1h', '--halt-on', 'rollbacks>0 | success<0.99', '--now', at(offset), ...more),
    report(name, offset, fields) {
      const body = { schema: 1, app: 'demo', channel: 'stable', host: name, machine: `m-${name}`, command: 'update', result: 'committed',
        from: '1.0.0', to: '1.1.0', reason: 'newer than 1.0.0', exitCode: 0, durationMs: 1200, time: at(offset), current: '1.1.0', previous: '1.0.0', bad: [], ...fields };
      writeFileSync(join(reports, `${at(offset)}-${name}.json`), JSON.stringify(body));
    },
    pointerBytes: () => readFileSync(join(tree, 'channels', 'stable.json')),
    async pointer() {
      const file = join(tree, 'channels', 'stable.json');
      const { document } = await openSigned(parseChannelPointer, readFileSync(file), readFileSync(`${file}.asc`, 'utf8'), { keys: [key.trusted], threshold: 1, now: new Date(t0.getTime() + 10 * 3600_000) });
      return document;
    },
    cleanup: () => tmp.cleanup(),
  };
}

export async function withLab(body: (lab: Lab) => Promise<void>): Promise<void> {
  const lab = await makeLab();
  try {
    await body(lab);
  } finally {
    lab.cleanup();
  }
}

