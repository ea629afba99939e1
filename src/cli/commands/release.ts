// `tide release …`: the release engineer's side. Each subcommand parses its flags,
// calls one function of src/release/, and renders text or --json.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ExitCode, TideError } from '../../errors.js';
import { parseDuration } from '../../config/units.js';
import { wantsJson, type CliContext, type Command } from '../context.js';
import { parseFlags } from '../parse-flags.js';
import { defaultReleaseTree } from '../../release/release-tree.js';

export const releaseUsage = `usage: tide release <subcommand> [options]      (--json on every subcommand)
  keygen  --name NAME [--email ADDR] [--out DIR | --private PATH --public PATH]
          an ed25519 signing key GnuPG 2.2 can read: DIR/<name>.key.asc (0600), DIR/<name>.pub.asc
          (DIR defaults to .; TIDE_KEY_PASSPHRASE, when set, encrypts the private key)
  build   --app APP --version V --from DIR [--image REF ...] [--image-layout oci-archive|oci] [--podman-argv JSON]
          [--source-date-epoch SECONDS] [--published TIME] [--key PRIVATE.asc ...] [--tree DIR]
          releases/V/ with the bundle <app>-<V>.tar.gz, images/<name>.oci.tar per --image, manifest.json
          (--image-layout oci: images/<name>/index.json and the image's blobs at objects/sha256/<hex>)
          (signed when --key is given). Bundle entries are stamped with SOURCE_DATE_EPOCH (flag or
          environment; default 0) so the same input gives the same bytes; the manifest's "published" is
          --published, else SOURCE_DATE_EPOCH when set, else now. An existing releases/V is refused.
  sign    --key PRIVATE.asc [--key PRIVATE.asc ...] FILE ...
          FILE.asc: one armored block, one signature per --key (threshold signing). Keys are expected
          to be passphrase-less; an encrypted key is unlocked with TIDE_KEY_PASSPHRASE.
  promote --app APP --channel C --version V --key PRIVATE.asc [...] [--expires 30d] [--rollout PERCENT]
          [--fallback V | --no-fallback] [--tree DIR]
          channels/C.json(.asc) with the next sequence; the release must be built and signed. Below 100 %
          the pointer names a fallback for hosts outside the rollout: the channel's previous fully
          rolled-out release (or --fallback V), which must be older, built, signed and not revoked
  revoke  --app APP [--version V ...] [--revoke-key FINGERPRINT ...] --key PRIVATE.asc [...] [--expires 30d] [--tree DIR]
          adds to revocations.json(.asc), next sequence (with nothing to add: re-sign with a new expiry)
  publish [--tree DIR] [--s3-endpoint URL] MIRROR ...
          copies the tree to each mirror: artifacts, manifests, roots, revocations, then pointers, each
          signature before its document; unchanged files are skipped and nothing is deleted. MIRROR is a
          directory or file:// URL (each file via a temp name and a rename), git+URL[#branch] (one commit
          pushed to the branch, default main: atomic per ref), or s3://bucket[/prefix] (one PutObject per
          file, in order; credentials and region from the AWS environment, --s3-endpoint or
          AWS_ENDPOINT_URL for S3-compatible storage)
  rollout --app APP --channel C --key PRIVATE.asc [...] (--reports DIR | --prometheus URL) [--steps 1,10,50,100]
          [--every 1h] [--halt-on "rollbacks>0 | success<0.99"] [--min-results 1] [--expires 30d] [--now TIME] [--tree DIR]
          one step of a staged rollout, for cron or CI: halts (the pointer re-signed to its fallback, exit 5)
          when --halt-on holds for the fleet's results of the version; advances one step when the step is at
          least --every old with --min-results results; else waits (exit 0). Metrics: rollbacks, late_rollbacks,
          commits, failures, reports, hosts, success
  rotate-keys [--add PUB.asc ...] [--remove FINGERPRINT ...] [--threshold N] --key PRIVATE.asc [...]
          [--expires 365d] [--tree DIR] [--keep-sequences] [--current PUB.asc ... --current-threshold N --app APP]
          keys/root.<N+1>.json(.asc): the next root, signed by --key, which must hold the threshold of the current
          root's keys and of the new root's keys. The first rotation names the hosts' config keys with --current
          (recorded as keys/root.1.json). The root carries the tree's pointer sequences as floors unless
          --keep-sequences. Then re-sign revocations and promote again with the new keys, and publish
  export  --app APP --channel C --out FILE [--tree DIR]
          one tar holding the channel's pointer, its manifest and artifacts, the revocations and the root chain,
          with their signatures, for \`tide update --from FILE\` on a host that cannot reach a mirror
  status  --mirror URL [--mirror URL ...] --key PUBLIC.asc [...] [--threshold N] [--app APP] [--channel C ...]
          [--html FILE [--tree DIR] [--reports DIR]] [--metrics FILE]
          one row per mirror and channel, with the lag behind the best pointer; --channel is required unless a
          file:// mirror lists channels/. --html also writes one self-contained page: mirrors, each channel's
          rollout (from the tree) and the fleet's results per version (from the reports directory).
          --metrics writes the mirrors' state as Prometheus textfile metrics (docs/prometheus-alerts.yml).
          exit 0 all in sync and valid, 3 a pointer refused (signature, expired, …), 4 a mirror
          unreachable or missing the channel, 1 all valid but out of sync
--tree DIR is the release tree, laid out like the mirror tree (default ./${defaultReleaseTree}).
--expires takes 30d, 12h, 90m.`;

type Subcommand = (args: string[], ctx: CliContext) => Promise<number>;

const subcommands: Record<string, Subcommand> = { keygen, build, sign, promote, revoke, publish, status, rollout, 'rotate-keys': rotateKeys, export: exportRelease };

export const command: Command = async (args, ctx) => {
  const [name, ...rest] = args;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    ctx.out(releaseUsage);
    return name ? ExitCode.ok : ExitCode.usage;
  }
  const run = subcommands[name];
  if (!run) throw new TideError('usage', `unknown release subcommand ${JSON.stringify(name)}; run tide release help`);
  if (rest.includes('--help') || rest.includes('-h')) {
    ctx.out(releaseUsage);
    return ExitCode.ok;
  }
  return run(rest, ctx);
};

const json = { json: { type: 'boolean', default: false } } as const;
const tree = { tree: { type: 'string', default: defaultReleaseTree } } as const;
const keys = { key: { type: 'string', multiple: true, default: [] as string[] } } as const;

function required(value: string | undefined, flag: string, subcommand: string): string {
  if (value === undefined || value === '') throw new TideError('usage', `release ${subcommand}: ${flag} is required`);
  return value;
}

function durationFlag(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) throw new TideError('usage', `${flag} must be a duration like 30d or 12h, got ${JSON.stringify(text)}`);
  return ms;
}

function numberFlag(text: string | undefined, flag: string, pattern: RegExp): number | undefined {
  if (text === undefined) return undefined;
  if (!pattern.test(text)) throw new TideError('usage', `${flag} must be a number, got ${JSON.stringify(text)}`);
  return Number(text);
}

const passphrase = (): string | undefined => process.env.TIDE_KEY_PASSPHRASE || undefined;

async function signingKeys(paths: string[], subcommand: string) {
  if (paths.length === 0) throw new TideError('usage', `release ${subcommand}: --key PRIVATE.asc is required`);
  const { readSigningKeys } = await import('../../release/sign-files.js');
  return readSigningKeys(paths, passphrase());
}

async function keygen(args: string[], ctx: CliContext): Promise<number> {
  const { values } = parseFlags('release keygen', args, {
    ...json, name: { type: 'string' }, email: { type: 'string' }, out: { type: 'string' },
    private: { type: 'string' }, public: { type: 'string' },
  });
  const name = required(values.name, '--name', 'keygen');
  const { generateSigningKey, keyPathsIn } = await import('../../release/generate-key.js');
  const inDir = keyPathsIn(values.out ?? '.', name);
  const key = await generateSigningKey({
    name, email: values.email, passphrase: passphrase(),
    privatePath: values.private ?? inDir.privatePath, publicPath: values.public ?? inDir.publicPath,
  });
  if (wantsJson(ctx, values.json)) ctx.out(JSON.stringify(key));
  else ctx.out(`fingerprint ${key.fingerprint}\nprivate key ${key.privatePath} (0600: keep it secret)\npublic key  ${key.publicPath} (give it to hosts: keys = [...])`);
  return ExitCode.ok;
}

async function build(args: string[], ctx: CliContext): Promise<number> {
  const { values } = parseFlags('release build', args, {
    ...json, ...tree, ...keys, app: { type: 'string' }, version: { type: 'string' }, from: { type: 'string' },
    image: { type: 'string', multiple: true, default: [] }, 'image-layout': { type: 'string' }, 'podman-argv': { type: 'string' },
    'source-date-epoch': { type: 'string' }, published: { type: 'string' },
  });
  const epochText = values['source-date-epoch'] ?? process.env.SOURCE_DATE_EPOCH;
  const published = values.published === undefined ? undefined : new Date(values.published);
  if (published && Number.isNaN(published.getTime())) throw new TideError('usage', `--published must be an ISO 8601 time, got ${JSON.stringify(values.published)}`);
  const imageLayout = values['image-layout'];
  if (imageLayout !== undefined && imageLayout !== 'oci' && imageLayout !== 'oci-archive') throw new TideError('usage', `--image-layout must be oci-archive or oci, got ${JSON.stringify(imageLayout)}`);
  const { buildRelease } = await import('../../release/build-release.js');
  const built = await buildRelease({
    tree: values.tree, app: required(values.app, '--app', 'build'), version: required(values.version, '--version', 'build'),
    sourceDir: required(values.from, '--from', 'build'), images: values.image, imageLayout, podmanArgv: podmanArgv(values['podman-argv']),
    sourceDateEpoch: numberFlag(epochText, '--source-date-epoch (or SOURCE_DATE_EPOCH)', /^\d+$/), published,
    signingKeys: values.key.length > 0 ? await signingKeys(values.key, 'build') : undefined,
  });
  if (wantsJson(ctx, values.json)) {
    ctx.out(JSON.stringify({ dir: built.dir, manifest: built.manifest, bundleEntries: built.bundleEntries, signatureFile: built.signatureFile ?? null, objects: built.objects ?? null, treeSkipped: built.treeSkipped ?? null }));
    return ExitCode.ok;
  }
  ctx.out(`built ${built.dir}`);
  for (const a of built.manifest.artifacts) ctx.out(`  ${a.type.padEnd(6)} ${a.path}  ${a.size} bytes  sha256 ${a.sha256}${a.type === 'image' ? `  ${a.image}` : ''}`);
  if (built.objects) ctx.out(`  objects ${built.objects.written} written, ${built.objects.kept} already in objects/`);
  if (built.treeSkipped) ctx.out(`  no tree: ${built.treeSkipped}`);
  ctx.out(built.signatureFile ? `  signed  ${built.signatureFile}` : `  next: tide release sign --key KEY ${built.manifestFile}`);
  return ExitCode.ok;
}

function podmanArgv(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  let argv: unknown;
  try {
    argv = JSON.parse(text);
  } catch {
    argv = undefined;
  }
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string')) {
    throw new TideError('usage', `--podman-argv must be a JSON array of strings like ["podman","--root","/x"], got ${text}`);
  }
  return argv as string[];
}

async function sign(args: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseFlags('release sign', args, { ...json, ...keys }, true);
  const keyList = await signingKeys(values.key, 'sign');
  const { signFiles } = await import('../../release/sign-files.js');
  const signed = await signFiles(positionals, keyList);
  if (wantsJson(ctx, values.json)) ctx.out(JSON.stringify(signed));
  else for (const s of signed) ctx.out(`signed ${s.file} -> ${s.signatureFile} (${s.signers.length} key(s): ${s.signers.join(', ')})`);
  return ExitCode.ok;
}

async function promote(args: string[], ctx: CliContext): Promise<number> {
  const { values } = parseFlags('release promote', args, {
    ...json, ...tree, ...keys, app: { type: 'string' }, channel: { type: 'string' }, version: { type: 'string' },
    expires: { type: 'string' }, rollout: { type: 'string' }, fallback: { type: 'string' }, 'no-fallback': { type: 'boolean', default: false },
  });
  if (values.fallback !== undefined && values['no-fallback']) throw new TideError('usage', 'release promote: --fallback and --no-fallback exclude each other');
  const request = {
    tree: values.tree, app: required(values.app, '--app', 'promote'), channel: required(values.channel, '--channel', 'promote'),
    version: required(values.version, '--version', 'promote'), expiresInMs: durationFlag(values.expires, '--expires'),
    rolloutPercent: numberFlag(values.rollout?.replace(/%$/, ''), '--rollout', /^\d+(\.\d+)?$/),
    fallback: values['no-fallback'] ? null : values.fallback,
  };
  const { promoteChannel } = await import('../../release/promote-channel.js');
  const promoted = await promoteChannel({ ...request, signingKeys: await signingKeys(values.key, 'promote') });
  const p = promoted.pointer;
  if (wantsJson(ctx, values.json)) ctx.out(JSON.stringify({ ...promoted }));
  else {
    const was = promoted.previousSequence === null ? 'new channel' : `was ${promoted.previousVersion} at sequence ${promoted.previousSequence}`;
    ctx.out(`channel ${p.channel} -> ${p.version}, sequence ${p.sequence} (${was}), expires ${p.expires}${p.rollout ? `, rollout ${p.rollout.percent}%` : ''}`);
    if (promoted.fallbackNote) ctx.out(promoted.fallbackNote);
    ctx.out(`wrote ${promoted.pointerFile} and ${promoted.signatureFile}; next: tide release publish --tree ${values.tree} MIRROR...`);
    for (const warning of promoted.warnings) ctx.out(`warning: ${warning}`);
  }
  return ExitCode.ok;
}

async function revoke(args: string[], ctx: CliContext): Promise<number> {
  const { values } = parseFlags('release revoke', args, {
    ...json, ...tree, ...keys, app: { type: 'string' }, version: { type: 'string', multiple: true, default: [] },
    'revoke-key': { type: 'string', multiple: true, default: [] }, expires: { type: 'string' },
  });
  const { revokeReleases } = await import('../../release/revoke-releases.js');
  const written = await revokeReleases({
    tree: values.tree, app: required(values.app, '--app', 'revoke'), versions: values.version, keys: values['revoke-key'],
    expiresInMs: durationFlag(values.expires, '--expires'), signingKeys: await signingKeys(values.key, 'revoke'),
  });
  const r = written.revocations;
  if (wantsJson(ctx, values.json)) ctx.out(JSON.stringify(written));
  else {
    ctx.out(`revocations sequence ${r.sequence}, expires ${r.expires}: versions [${r.versions.join(', ')}], keys [${r.keys.join(', ')}]`);
    ctx.out(`added versions [${written.added.versions.join(', ')}], keys [${written.added.keys.join(', ')}]; wrote ${written.file}`);
  }
  return ExitCode.ok;
}

async function publish(args: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseFlags('release publish', args, { ...json, ...tree, 's3-endpoint': { type: 'string' } }, true);
  const { publishTree } = await import('../../release/publish-tree.js');
  const published = await publishTree({ tree: values.tree, mirrors: positionals, s3Endpoint: values['s3-endpoint'] ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL });
  if (wantsJson(ctx, values.json)) ctx.out(JSON.stringify(published));
  else for (const m of published) {
    const commit = m.commit === undefined ? '' : m.commit === null ? ', nothing to commit' : `, pushed commit ${m.commit.slice(0, 12)}`;
    ctx.out(`${m.mirror}: copied ${m.copied.length} file(s), ${m.unchanged.length} unchanged${commit}`);
    for (const f of m.copied) ctx.out(`  ${f.stage.padEnd(11)} ${f.path}`);
  }
  return ExitCode.ok;
}

async function status(args: string[], ctx: CliContext): Promise<number> {
  const { values } = parseFlags('release status', args, {
    ...json, ...keys, mirror: { type: 'string', multiple: true, default: [] }, threshold: { type: 'string' },
    app: { type: 'string' }, channel: { type: 'string', multiple: true, default: [] },
    html: { type: 'string' }, tree: { type: 'string' }, reports: { type: 'string' }, metrics: { type: 'string' },
  });
  const { mirrorStatus } = await import('../../release/mirror-status.js');
  const report = await mirrorStatus({
    mirrors: values.mirror.map(mirrorUrl), keyFiles: values.key, app: values.app, channels: values.channel,
    threshold: numberFlag(values.threshold, '--threshold', /^[1-9]\d*$/),
  });
  if (values.metrics !== undefined) {
    const { writeStatusMetrics } = await import('../../release/status-metrics.js');
    writeStatusMetrics(values.metrics, report);
  }
  if (values.html !== undefined) {
    const { writeStatusPage } = await import('../../release/status-html.js');
    // The tree for each channel's rollout: --tree, else ./release-tree when there is one.
    const treeDir = values.tree ?? (existsSync(defaultReleaseTree) ? defaultReleaseTree : undefined);
    const page = writeStatusPage({ file: values.html, report, app: report.app, tree: treeDir, reports: values.reports });
    ctx.logger.log('info', { event: 'status', message: `wrote ${page.file} (${page.bytes} bytes)` });
  } else if (values.tree !== undefined || values.reports !== undefined) {
    throw new TideError('usage', 'release status: --tree and --reports go with --html FILE');
  }
  if (wantsJson(ctx, values.json)) ctx.out(JSON.stringify({ rows: report.rows, allInSync: report.allInSync, rootVersion: report.rootVersion, notes: report.notes }));
  else {
    const { renderStatusTable } = await import('../../release/status-table.js');
    for (const line of renderStatusTable(report)) ctx.out(line);
  }
  return report.exitCode;
}

async function rollout(args: string[], ctx: CliContext): Promise<number> {
  const { values } = parseFlags('release rollout', args, {
    ...json, ...tree, ...keys, app: { type: 'string' }, channel: { type: 'string' },
    steps: { type: 'string', default: '1,10,50,100' }, every: { type: 'string', default: '1h' },
    'halt-on': { type: 'string', default: 'rollbacks>0 | success<0.99' }, 'min-results': { type: 'string', default: '1' },
    reports: { type: 'string' }, prometheus: { type: 'string' }, expires: { type: 'string' }, now: { type: 'string' },
  });
  const app = required(values.app, '--app', 'rollout');
  const channel = required(values.channel, '--channel', 'rollout');
  const { parseHaltExpression } = await import('../../release/halt-expression.js');
  const { runRollout } = await import('../../release/rollout-controller.js');
  const { fleetSource, parseSteps } = await import('../../release/rollout-sources.js');
  const now = values.now === undefined ? undefined : new Date(values.now);
  if (now && Number.isNaN(now.getTime())) throw new TideError('usage', `--now must be an ISO 8601 time, got ${JSON.stringify(values.now)}`);
  const run = await runRollout({
    tree: values.tree, app, channel, steps: parseSteps(values.steps), everyMs: durationFlag(values.every, '--every')!,
    haltOn: parseHaltExpression(values['halt-on']), minResults: numberFlag(values['min-results'], '--min-results', /^\d+$/)!,
    resultsFor: fleetSource({ app, channel, reports: values.reports, prometheus: values.prometheus }),
    expiresInMs: durationFlag(values.expires, '--expires'), signingKeys: await signingKeys(values.key, 'rollout'), now,
  });
  const level = run.action === 'halt' || run.action === 'halted' ? 'warn' : 'info';
  for (const note of run.notes) ctx.logger.log('warn', { event: 'rollout', message: note });
  ctx.logger.log(level, { event: 'rollout', message: `${channel}: ${run.action}: ${run.reason}`, result: run.action, to: run.version });
  if (wantsJson(ctx, values.json)) ctx.out(JSON.stringify(run));
  else {
    ctx.out(`${channel}: ${run.action}: ${run.reason}`);
    if (run.action === 'halt' || run.action === 'advance') ctx.out(`channel ${channel} -> ${run.version} at ${run.percent}%, sequence ${run.sequence}; next: tide release publish --tree ${values.tree} MIRROR...`);
    // A host never downgrades by itself: only a revocation moves the hosts that took the halted release.
    if (run.action === 'halt' && run.halted) ctx.out(`hosts already on ${run.halted} keep it; to move them back: tide release revoke --app ${app} --version ${run.halted} --key …`);
  }
  // Like a host's rollback (exit 5): the new version was unhealthy and the channel went back.
  return run.action === 'halt' || run.action === 'halted' ? ExitCode.rolledBack : ExitCode.ok;
}

async function rotateKeys(args: string[], ctx: CliContext): Promise<number> {
  const { values } = parseFlags('release rotate-keys', args, {
    ...json, ...tree, ...keys, app: { type: 'string' }, add: { type: 'string', multiple: true, default: [] },
    remove: { type: 'string', multiple: true, default: [] }, threshold: { type: 'string' }, expires: { type: 'string' },
    current: { type: 'string', multiple: true, default: [] }, 'current-threshold': { type: 'string' },
    'keep-sequences': { type: 'boolean', default: false },
  });
  const { rotateKeys: rotate } = await import('../../release/rotate-keys.js');
  const rotated = await rotate({
    tree: values.tree, app: values.app, add: values.add, remove: values.remove,
    threshold: numberFlag(values.threshold, '--threshold', /^[1-9]\d*$/), expiresInMs: durationFlag(values.expires, '--expires'),
    current: values.current, currentThreshold: numberFlag(values['current-threshold'], '--current-threshold', /^[1-9]\d*$/),
    keepSequences: values['keep-sequences'] === true, signingKeys: await signingKeys(values.key, 'rotate-keys'),
  });
  if (wantsJson(ctx, values.json)) ctx.out(JSON.stringify(rotated));
  else {
    if (rotated.rootOneFile) ctx.out(`recorded the hosts' current root as ${rotated.rootOneFile}`);
    ctx.out(`root ${rotated.version}: ${rotated.fingerprints.length} key(s), threshold ${rotated.threshold}, expires ${rotated.expires}`);
    for (const fingerprint of rotated.fingerprints) ctx.out(`  key ${fingerprint}`);
    const floors = rotated.sequences;
    ctx.out(floors ? `  sequence floors: ${Object.entries(floors.channels).map(([c, n]) => `${c} ${n}`).join(', ') || '(no channel)'}${floors.revocations !== undefined ? `, revocations ${floors.revocations}` : ''}` : '  no sequence floors (--keep-sequences)');
    ctx.out(`wrote ${rotated.file} and ${rotated.signatureFile}; next: re-sign revocations and promote with the new keys, then tide release publish`);
  }
  return ExitCode.ok;
}

async function exportRelease(args: string[], ctx: CliContext): Promise<number> {
  const { values } = parseFlags('release export', args, { ...json, ...tree, app: { type: 'string' }, channel: { type: 'string' }, out: { type: 'string' } });
  const { exportChannel } = await import('../../release/export-release.js');
  const exported = await exportChannel({
    tree: values.tree, app: required(values.app, '--app', 'export'), channel: required(values.channel, '--channel', 'export'),
    out: required(values.out, '--out', 'export'),
  });
  if (wantsJson(ctx, values.json)) ctx.out(JSON.stringify(exported));
  else {
    ctx.out(`exported ${exported.channel} -> ${exported.version} (sequence ${exported.sequence}, expires ${exported.expires}) to ${exported.file}: ${exported.paths.length} file(s), ${exported.bytes} bytes`);
    for (const warning of exported.warnings) ctx.out(`warning: ${warning}`);
  }
  return ExitCode.ok;
}

/** A bare directory is taken as a file:// mirror, for convenience next to publish. */
function mirrorUrl(mirror: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(mirror)) return mirror;
  return pathToFileURL(resolve(mirror)).href;
}
