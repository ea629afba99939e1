// SPEC config.md#config-reference: the shape of tide.toml. Validated with zod; durations and sizes become numbers.
// SPEC config.md#config-strictness: every table is a strict object, so this file is the one list of
// known keys (unknown-keys.ts reads it to name the closest one).
import { z } from 'zod';
import { parseDuration, parseSize } from './units.js';
import { limits } from '../limits.js';

const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `not a duration: ${JSON.stringify(text)} (use 500ms, 2s, 5m, 1h)` });
    return z.NEVER;
  }
  return ms;
});

const size = z.union([z.string(), z.number()]).transform((text, ctx) => {
  const bytes = parseSize(text);
  if (bytes === undefined) {
    ctx.addIssue({ code: 'custom', message: `not a size: ${JSON.stringify(text)} (use 512MiB, 1GiB)` });
    return z.NEVER;
  }
  return bytes;
});

const argv = z.array(z.string()).min(1);
const mirrorUrl = z.string().regex(/^(https?|file):\/\//, 'a mirror must be an http://, https:// or file:// URL');
const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" only');

const probe = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('http'),
    url: z.string().regex(/^https?:\/\//, 'an http:// or https:// URL'),
    expect: z.number().int().default(200),
    body: z.string().optional(),
    insecure: z.boolean().default(false),
    ca: z.string().optional(),
  }),
  z.strictObject({ type: z.literal('tcp'), host: z.string().default('127.0.0.1'), port: z.number().int().min(1).max(65535) }),
  z.strictObject({ type: z.literal('unit'), unit: z.string() }),
  z.strictObject({ type: z.literal('command'), argv }),
  z.strictObject({ type: z.literal('container'), name: z.string() }),
]);

export const configSchema = z
  .object({
    app: name,
    channel: name.default('stable'),
    state_dir: z.string().startsWith('/', 'state_dir must be an absolute path'),
    mirrors: z.array(mirrorUrl).min(1, 'at least one mirror'),
    keys: z.array(z.string()).min(1, 'at least one trusted key'),
    threshold: z.number().int().min(1).default(1),
    keep: z.number().int().min(0).default(1),
    max_unpacked: size.default(limits.defaultMaxUnpacked),
    machine_id: z.string().optional(),
    owner: z.string().optional(),
    link: z
      .array(z.strictObject({ path: z.string().startsWith('/', 'link path must be absolute'), target: z.string() }))
      .default([]),
    service: z
      .object({ restart: argv.optional(), unit: z.string().optional() })
      .default({}),
    podman: z.strictObject({ argv: argv.default(['podman']) }).default({ argv: ['podman'] }),
    container: z
      .array(
        z.strictObject({
          name,
          image: z.string(),
          args: z.array(z.string()).default([]),
          command: z.array(z.string()).default([]),
        }),
      )
      .default([]),
    health: z
      .object({
        timeout: duration.default(90_000),
        start: duration.optional(),
        interval: duration.default(2_000),
        stable: duration.default(10_000),
        /** Not in the spec: refused since the restart for this long = the version died at start (default 3 intervals). */
        gone_after: duration.optional(),
        /** SPEC config.md#health: after the commit, keep probing this long and roll back a late failure (0: none). */
        probation: duration.default(0),
        probe: z.array(probe).default([]),
        /** SPEC config.md#health: "none" = no probe, accepted on purpose (tide cannot tell a broken version from a good one). */
        probes: z.literal('none').optional(),
      })
      .default({ timeout: 90_000, interval: 2_000, stable: 10_000, probation: 0, probe: [] }),
    schedule: z
      .object({ cron: z.string().default('17 * * * *'), window: z.string().optional(), delay: duration.optional() })
      .default({ cron: '17 * * * *' }),
    metrics: z.strictObject({ textfile: z.string().optional() }).default({}),
    report: z.strictObject({ url: z.string().optional(), timeout: duration.default(5_000), retries: z.number().int().min(0).default(3) }).optional(),
  })
  .refine((c) => c.threshold <= c.keys.length, { message: 'threshold is larger than the number of trusted keys', path: ['threshold'] })
  // SPEC config.md#config-strictness: no probe only when the config says so.
  .refine((c) => c.health.probe.length > 0 || c.health.probes === 'none', {
    message: 'no [[health.probe]] is configured, so tide could not tell a broken version from a good one; add one, or say [health] probes = "none" to update without health checks',
    path: ['health', 'probe'],
  })
  .refine((c) => c.health.probe.length === 0 || c.health.probes === undefined, {
    message: 'probes = "none", but [[health.probe]] entries are configured: remove one or the other',
    path: ['health', 'probes'],
  });

export type RawConfig = z.infer<typeof configSchema>;
export type ProbeSpec = RawConfig['health']['probe'][number];
export type ContainerSpec = RawConfig['container'][number];
export type LinkSpec = RawConfig['link'][number];
