// SPEC config.md#config-strictness: every key and table the schema does not know
// is refused, naming the key, its line and the closest known key. The schema
// (strict zod objects) is the one list of known keys: this walks the parsed TOML
// beside it, so a typo is reported as a typo before any of its consequences (a
// `[[health.probes]]` is an unknown table, not "no probe configured").
import { z } from 'zod';
import { closest } from 'fastest-levenshtein';
import type { KeyPath } from './key-lines.js';

export interface UnknownKey {
  /** Where it is in the parsed value, array indexes included. */
  path: KeyPath;
  kind: 'key' | 'table';
  /** The closest known key or table at the same place, as a dotted name. */
  suggestion: string | undefined;
  /** For a member of a union (a probe of one type): which one, e.g. `type = "http"`. */
  variant?: string;
}

/** Optional, default, a transform's input: what the TOML value must look like. */
function unwrap(schema: z.ZodType): z.ZodType {
  for (;;) {
    if (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault || schema instanceof z.ZodNullable || schema instanceof z.ZodPrefault) {
      schema = schema.unwrap() as z.ZodType;
    } else if (schema instanceof z.ZodPipe) {
      schema = schema.in as z.ZodType;
    } else {
      return schema;
    }
  }
}

/** A schema for a TOML table or array of tables (what `[x]` and `[[x]]` write). */
function isTableSchema(schema: z.ZodType): boolean {
  const s = unwrap(schema);
  if (s instanceof z.ZodObject || s instanceof z.ZodDiscriminatedUnion) return true;
  return s instanceof z.ZodArray && isTableSchema(s.element as z.ZodType);
}

const isPlainTable = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);

/** A value written as a table or an array of tables. */
const isTableValue = (value: unknown): boolean =>
  isPlainTable(value) || (Array.isArray(value) && value.length > 0 && value.every(isPlainTable));

/** The dotted name an operator reads: no array indexes. */
export const dottedName = (path: KeyPath): string => path.filter((k) => typeof k === 'string').join('.');

function suggest(name: string, candidates: string[]): string | undefined {
  return candidates.length > 0 ? closest(name, candidates) : undefined;
}

function checkTable(raw: Record<string, unknown>, schema: z.ZodObject, path: KeyPath, found: UnknownKey[], variant?: string): void {
  const shape = schema.shape as Record<string, z.ZodType>;
  const known = Object.keys(shape);
  const tables = known.filter((k) => isTableSchema(shape[k]!));
  const values = known.filter((k) => !isTableSchema(shape[k]!));
  for (const [key, value] of Object.entries(raw)) {
    const field = shape[key];
    const asTable = isTableValue(value);
    // `[[health.probes]]` when the schema's `probes` is a string is a misspelt table, not a bad value.
    if (field && (!asTable || isTableSchema(field))) {
      walk(value, field, [...path, key], found);
      continue;
    }
    const sameKind = asTable ? tables : values;
    const near = suggest(key, sameKind.length > 0 ? sameKind : known);
    found.push({
      path: [...path, key],
      kind: asTable ? 'table' : 'key',
      suggestion: near === undefined ? undefined : dottedName([...path, near]),
      ...(variant !== undefined && { variant }),
    });
  }
}

function walk(raw: unknown, schema: z.ZodType, path: KeyPath, found: UnknownKey[]): void {
  const s = unwrap(schema);
  if (s instanceof z.ZodObject && isPlainTable(raw)) return checkTable(raw, s, path, found);
  if (s instanceof z.ZodArray && Array.isArray(raw)) {
    raw.forEach((item, index) => walk(item, s.element as z.ZodType, [...path, index], found));
    return;
  }
  if (s instanceof z.ZodDiscriminatedUnion && isPlainTable(raw)) {
    // The keys a probe may have depend on its type; without a known type, the schema says so itself.
    const discriminator = s.def.discriminator;
    const chosen = raw[discriminator];
    for (const option of s.options as z.ZodType[]) {
      const member = unwrap(option);
      if (!(member instanceof z.ZodObject)) continue;
      const tag = unwrap((member.shape as Record<string, z.ZodType>)[discriminator]!);
      if (tag instanceof z.ZodLiteral && tag.values.has(chosen as never)) {
        return checkTable(raw, member, path, found, `${discriminator} = ${JSON.stringify(chosen)}`);
      }
    }
  }
}

/** Every key and table in `raw` that `schema` does not know, in no particular order. */
export function unknownKeys(raw: unknown, schema: z.ZodType): UnknownKey[] {
  const found: UnknownKey[] = [];
  walk(raw, schema, [], found);
  return found;
}
