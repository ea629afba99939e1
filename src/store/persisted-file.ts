// How tide reads the JSON files it persists (state.json, pending.json, tide.lock.holder):
// whole when they are whole; when they are not, every field that is still intact,
// and the damaged file moved aside, never a crash (RAUC's status file: key by key
// with defaults, the broken file kept).
// SPEC host-layout.md#damaged-files: what tide does with each damaged file.
import { closeSync, fstatSync, openSync, readFileSync, readdirSync, renameSync, rmSync, existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { JSONParser } from '@streamparser/json';
import type { z } from 'zod';
import { fsyncDir } from './atomic.js';

/** What a persisted file held, before its fields are read. */
export type RawFile =
  | { kind: 'missing' }
  /** Valid JSON (an object or not). */
  | { kind: 'json'; value: unknown; mtime: Date }
  /** Not valid JSON, not a regular file, or unreadable as text: `fields` holds the intact prefix. */
  | { kind: 'broken'; reason: string; fields: Record<string, unknown>; partial: ReadonlySet<string>; mtime: Date | null };

/** Read `path` without trusting it. Errors other than "missing" or "not a file" (EACCES, EIO) still throw. */
export function readRawFile(path: string): RawFile {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    if (code === 'ELOOP' || code === 'ENOTDIR') return broken(`cannot be opened (${code})`, null);
    throw err;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return broken(stat.isDirectory() ? 'is a directory, not a file' : 'is not a regular file', stat.mtime);
    const text = readFileSync(fd, 'utf8');
    if (text.trim() === '') return broken('is empty', stat.mtime);
    try {
      return { kind: 'json', value: JSON.parse(text), mtime: stat.mtime };
    } catch (err) {
      return { ...salvagePrefix(text), reason: `is not valid JSON (${(err as Error).message})`, mtime: stat.mtime };
    }
  } finally {
    closeSync(fd);
  }
}

const broken = (reason: string, mtime: Date | null): RawFile => ({ kind: 'broken', reason, fields: {}, partial: new Set(), mtime });

/**
 * The top-level fields of a cut or garbled JSON object that were complete before the
 * damage, and the complete entries of a top-level list or map that was cut (`partial`).
 * Values are taken only once closed, so a cut number ("12" of "123") is never read.
 */
function salvagePrefix(text: string): { kind: 'broken'; fields: Record<string, unknown>; partial: Set<string> } {
  const fields: Record<string, unknown> = {};
  const entries = new Map<string, unknown[] | Record<string, unknown>>();
  if (!text.trimStart().startsWith('{')) return { kind: 'broken', fields, partial: new Set() };
  let failed = false;
  const parser = new JSONParser({ paths: ['$.*', '$.*.*'] });
  parser.onError = () => { failed = true; };
  parser.onValue = ({ value, key, stack }) => {
    if (failed) return;
    if (stack.length === 1) {
      fields[String(key)] = value;
      entries.delete(String(key));
      return;
    }
    const field = String(stack[1]?.key);
    // Entries of a list have numeric keys.
    const collected = entries.get(field) ?? (typeof key === 'number' ? [] : {});
    if (Array.isArray(collected)) collected.push(value);
    else collected[String(key)] = value;
    entries.set(field, collected);
  };
  try {
    // No end(): whatever is still open at the cut is not a value.
    parser.write(text);
  } catch {
    failed = true;
  }
  // A list or map still open at the cut: its complete entries, marked partial.
  const partial = new Set(entries.keys());
  for (const [field, collected] of entries) fields[field] = collected;
  return { kind: 'broken', fields, partial };
}

/** One field of a persisted file: its schema, its value when absent, and what survives damage. */
export interface Field<T> {
  schema: z.ZodType<T>;
  /** The value when the field is absent (an older tide did not write it) or beyond salvage. */
  fallback: () => T;
  /** What is still good in a damaged value, e.g. the valid entries of a list. */
  salvage?: (raw: unknown) => T;
}

export type Fields<T> = { [K in keyof T]: Field<T[K]> };

export interface ReadFields<T> {
  value: T;
  /** Fields present but damaged (wrong type, cut short). Absent fields are not damage. */
  damaged: (keyof T & string)[];
  /** Fields this tide does not know (a newer tide's): kept as they are. */
  unknown: Record<string, unknown>;
}

/** Read every field on its own: a damaged one falls back (or is salvaged), the others stay. */
export function readFields<T>(raw: Record<string, unknown>, fields: Fields<T>, partial: ReadonlySet<string> = new Set()): ReadFields<T> {
  const value = {} as T;
  const damaged: (keyof T & string)[] = [];
  for (const name of Object.keys(fields) as (keyof T & string)[]) {
    const field = fields[name];
    if (!(name in raw) || raw[name] === undefined) {
      value[name] = field.fallback();
      continue;
    }
    const parsed = field.schema.safeParse(raw[name]);
    if (parsed.success && !partial.has(name)) {
      value[name] = parsed.data;
      continue;
    }
    damaged.push(name);
    value[name] = field.salvage ? field.salvage(raw[name]) : field.fallback();
  }
  const unknown = Object.fromEntries(Object.entries(raw).filter(([name]) => !(name in fields) && name !== 'schema'));
  return { value, damaged, unknown };
}

/** Salvage: the entries of a list that are valid on their own. */
export const validEntries = <T>(entry: z.ZodType<T>) => (raw: unknown): T[] =>
  Array.isArray(raw) ? raw.flatMap((item) => { const p = entry.safeParse(item); return p.success ? [p.data] : []; }) : [];

/** Salvage: the entries of a map that are valid on their own. */
export const validValues = <T>(entry: z.ZodType<T>) => (raw: unknown): Record<string, T> => {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return {};
  const out: Record<string, T> = {};
  for (const [key, item] of Object.entries(raw)) {
    const p = entry.safeParse(item);
    if (p.success) out[key] = p.data;
  }
  return out;
};

/** The object a file holds, or why it is not one. */
export function objectOf(raw: RawFile): { fields: Record<string, unknown>; partial: ReadonlySet<string>; reason: string | null } {
  if (raw.kind === 'missing') return { fields: {}, partial: new Set(), reason: null };
  if (raw.kind === 'broken') return { fields: raw.fields, partial: raw.partial, reason: raw.reason };
  if (typeof raw.value !== 'object' || raw.value === null || Array.isArray(raw.value)) {
    return { fields: {}, partial: new Set(), reason: `holds ${Array.isArray(raw.value) ? 'a list' : typeof raw.value}, not an object` };
  }
  return { fields: raw.value as Record<string, unknown>, partial: new Set(), reason: null };
}

/** SPEC host-layout.md#versioned-files: absent `schema` reads as 1; any other number is handled as damage. */
export function schemaProblem(fields: Record<string, unknown>, known: number): string | null {
  if (!('schema' in fields) || fields.schema === known) return null;
  return `has schema ${JSON.stringify(fields.schema)}, this tide reads schema ${known}`;
}

/** SPEC host-layout.md#damaged-files: at most this many `.broken-<time>` files are kept per file. */
export const keptBrokenFiles = 3;

/**
 * Move a damaged file (or directory) aside as `<name>.broken-<time>`, durably (rename,
 * fsync of the directory), and remove the oldest such files beyond `keptBrokenFiles`.
 * Returns the new path.
 */
export function moveAside(path: string, now: Date): string {
  const dir = dirname(path);
  const stamp = now.toISOString().replace(/[-:]/g, '');
  let target = `${path}.broken-${stamp}`;
  for (let n = 2; existsSync(target); n++) target = `${path}.broken-${stamp}-${n}`;
  renameSync(path, target);
  fsyncDir(dir);
  pruneBroken(path);
  return target;
}

function pruneBroken(path: string): void {
  const prefix = `${basename(path)}.broken-`;
  // The stamp sorts by time; the newest are kept.
  const old = readdirSync(dirname(path)).filter((name) => name.startsWith(prefix)).sort().reverse().slice(keptBrokenFiles);
  for (const name of old) rmSync(join(dirname(path), name), { recursive: true, force: true });
}
