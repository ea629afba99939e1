// SPEC trust.md#root-documents: keys/root.<N>.json, a signed list of
// the keys a host trusts from version N on, with their threshold.
// Unknown fields are ignored (zod strips them); an unknown schema is refused.
import { z } from 'zod';
import type { ErrorPlace } from '../errors.js';
import { parseWith } from './parse-document.js';

const timestamp = z.string().refine((t) => !Number.isNaN(Date.parse(t)), 'an ISO 8601 time');
const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/);
const sequence = z.number().int().nonnegative();

/**
 * SPEC trust.md#sequence-floors: what a host remembered under an earlier root is replaced
 * by these floors when it accepts this root (a channel not named is forgotten).
 */
export const rootSequencesSchema = z.object({
  channels: z.record(name, sequence).default({}),
  revocations: sequence.optional(),
});

export const rootDocumentSchema = z
  .object({
    schema: z.literal(1),
    app: name,
    /** Root 1 is the config's keys; a mirror's roots start at 2, each one exactly the next. */
    version: z.number().int().min(1),
    published: timestamp,
    /** The newest root a host trusts must not have expired. */
    expires: timestamp,
    /** Distinct keys of this root that must sign pointers, manifests, revocations and the next root. */
    threshold: z.number().int().min(1),
    /** Armored OpenPGP public keys. */
    keys: z.array(z.string().min(1)).min(1),
    sequences: rootSequencesSchema.optional(),
  })
  .refine((r) => r.threshold <= r.keys.length, { message: 'threshold is larger than the number of keys', path: ['threshold'] });

export type RootDocument = z.infer<typeof rootDocumentSchema>;
export type RootSequences = z.infer<typeof rootSequencesSchema>;

export const parseRootDocument = (bytes: Uint8Array, where: ErrorPlace = {}): RootDocument =>
  parseWith(rootDocumentSchema, bytes, 'root', where);

/** SPEC trust.md#root-documents: where root N lives on a mirror (and in a release tree). */
export const rootPath = (version: number): string => `keys/root.${version}.json`;
