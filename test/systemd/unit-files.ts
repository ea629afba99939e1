// Helpers for the systemd tests: read unit files, run systemd-analyze on them
// without a running systemd, and run scripts/install.sh into a DESTDIR.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout: this file runs from dist/test/systemd/. */
export const checkout = fileURLToPath(new URL('../../../', import.meta.url));
export const shippedUnits = ['tide-update.service', 'tide-update.timer', 'tide-verify.service', 'tide-probation.service', 'tide-reconcile.service', 'tide-reconcile.timer'];
export const shippedServices = shippedUnits.filter((name) => name.endsWith('.service'));
/** Where the shipped units expect the tide wrapper. */
export const tideBinary = '/usr/local/bin/tide';

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): RunResult {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, SYSTEMD_COLORS: '0', SYSTEMD_PAGER: 'cat', ...env },
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Section -> key -> every value the key was given, in order (systemd keys may repeat). */
export type UnitFile = Map<string, Map<string, string[]>>;

export function parseUnit(text: string, into: UnitFile = new Map()): UnitFile {
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      if (!into.has(section)) into.set(section, new Map());
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) throw new Error(`not a unit file line: ${line}`);
    const keys = into.get(section) ?? new Map<string, string[]>();
    into.set(section, keys);
    const key = line.slice(0, eq).trim();
    keys.set(key, [...(keys.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return into;
}

/** A unit as systemd sees it: the file, then its drop-ins in name order. */
export function readUnit(dir: string, name: string): UnitFile {
  const unit = parseUnit(readFileSync(join(dir, name), 'utf8'));
  const dropins = join(dir, `${name}.d`);
  if (!existsSync(dropins)) return unit;
  for (const conf of readdirSync(dropins).filter((f) => f.endsWith('.conf')).sort()) {
    parseUnit(readFileSync(join(dropins, conf), 'utf8'), unit);
  }
  return unit;
}

/** Every value of a key, split on whitespace (Wants=a b, After=c). */
export function listOf(unit: UnitFile, section: string, key: string): string[] {
  return (unit.get(section)?.get(key) ?? []).flatMap((value) => value.split(/\s+/)).filter(Boolean);
}

/**
 * systemd-analyze verify insists that ExecStart exists, and the host has no
 * /usr/local/bin/tide: copy the units (and drop-ins) into `work` with ExecStart
 * pointing at a stand-in script there. Returns the folder holding the copies.
 */
export function stageForAnalyze(unitDir: string, work: string): string {
  const stand = join(work, 'bin', 'tide');
  mkdirSync(join(work, 'bin'), { recursive: true });
  writeFileSync(stand, '#!/bin/sh\nexit 0\n');
  chmodSync(stand, 0o755);
  const staged = join(work, 'units');
  mkdirSync(staged, { recursive: true });
  for (const name of shippedUnits) {
    const text = readFileSync(join(unitDir, name), 'utf8');
    writeFileSync(join(staged, name), text.replaceAll(tideBinary, stand));
    if (existsSync(join(unitDir, `${name}.d`))) cpSync(join(unitDir, `${name}.d`), join(staged, `${name}.d`), { recursive: true });
  }
  return staged;
}

/** verify's exit status and the stderr lines about tide's own units (others' noise is not ours). */
export function verifyUnit(path: string): { status: number | null; warnings: string[] } {
  const result = run('systemd-analyze', ['verify', '--man=no', path]);
  const warnings = result.stderr.split('\n').filter((line) => /tide-/.test(line));
  return { status: result.status, warnings };
}

/** The overall exposure `systemd-analyze security --offline=yes` gives a service file. */
export function exposureOf(path: string): number {
  const result = run('systemd-analyze', ['security', '--offline=yes', '--no-pager', path]);
  const match = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(result.stdout);
  if (result.status !== 0 || !match) throw new Error(`systemd-analyze security failed: ${result.stderr}${result.stdout}`);
  return Number(match[1]);
}

/**
 * A private copy of the parts of the checkout install.sh reads, so a build
 * running elsewhere cannot change dist/ between two runs of one test.
 * node_modules is hard-linked (read only here); dist/src is copied.
 */
export function copyCheckout(dest: string): string {
  mkdirSync(join(dest, 'dist'), { recursive: true });
  for (const part of ['package.json', 'package-lock.json', 'scripts', 'systemd', 'docs', 'README.md']) {
    cpSync(join(checkout, part), join(dest, part), { recursive: true });
  }
  cpSync(join(checkout, 'dist', 'src'), join(dest, 'dist', 'src'), { recursive: true });
  const linked = run('cp', ['-al', join(checkout, 'node_modules'), join(dest, 'node_modules')]);
  if (linked.status !== 0) cpSync(join(checkout, 'node_modules'), join(dest, 'node_modules'), { recursive: true });
  return dest;
}

export function runInstall(fromCheckout: string, destdir: string, args: string[] = []): RunResult {
  return run('sh', [join(fromCheckout, 'scripts', 'install.sh'), ...args], { DESTDIR: destdir });
}

/** path -> "type mode content-hash-or-link-target" for every entry under root. */
export function snapshotTree(root: string): Record<string, string> {
  const entries: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const stat = lstatSync(path);
      const mode = (stat.mode & 0o7777).toString(8);
      const key = relative(root, path);
      if (stat.isSymbolicLink()) entries[key] = `link ${readlinkSync(path)}`;
      else if (stat.isDirectory()) {
        entries[key] = `dir ${mode}`;
        walk(path);
      } else {
        const digest = createHash('sha256').update(readFileSync(path)).digest('hex');
        entries[key] = `file ${mode} ${digest} ${stat.mtimeMs}`;
      }
    }
  };
  walk(root);
  return entries;
}
