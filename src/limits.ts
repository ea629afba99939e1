// Every limit in one place, with its default. Enforced while streaming, not after.

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

export const limits = {
  // SPEC formats.md#size-caps: documents larger than 1 MiB are refused without reading further.
  maxDocumentBytes: 1 * MiB,
  // SPEC formats.md#the-tree-artifact: tree.json larger than 16 MiB is refused without reading further.
  maxTreeDocumentBytes: 16 * MiB,
  // Delta staging: objects fetched from mirrors at once.
  objectFetchesAtOnce: 8,
  // Delta staging: a kept version is staged from only when it holds at least this share of the new tree's bytes.
  minReusedShare: 0.5,
  // SPEC formats.md#size-caps: signatures larger than 64 KiB are refused.
  maxSignatureBytes: 64 * KiB,
  // Signatures: a host whose clock runs this far behind the signer's still accepts a fresh signature.
  signatureClockSkewMs: 15 * 60_000,
  // SPEC formats.md#counts-and-sizes: more than 100 000 entries is refused.
  maxBundleEntries: 100_000,
  // SPEC config.md#top-level-keys: max_unpacked default.
  defaultMaxUnpacked: 1 * GiB,
  // Longest entry path we accept; node-tar had CVEs around very long/deep paths.
  maxEntryPathBytes: 4096,
  // Deepest directory nesting inside a bundle.
  maxEntryDepth: 64,
  // Longest single name in a bundle path (NAME_MAX on Linux filesystems).
  maxEntryNameBytes: 255,
  // Largest one pax / GNU long-name header body; real ones hold a path and a few times.
  maxBundleMetaEntryBytes: 64 * KiB,
  // All pax / GNU long-name header bodies of one bundle together.
  maxBundleMetaBytes: 64 * MiB,
  // Zero padding allowed after a bundle's end-of-archive marker (GNU tar pads to 10 KiB records).
  maxBundleTrailingZeroBytes: 1 * MiB,
  // Mirror requests: time to establish a connection.
  connectTimeoutMs: 5_000,
  // Mirror requests: no byte for this long means the mirror stalled.
  stallTimeoutMs: 10_000,
  // Mirror requests: a whole small document must arrive within this.
  documentDeadlineMs: 30_000,
  // Artifacts: below this average rate after the grace period the mirror is dropped.
  minBytesPerSecond: 16 * KiB,
  // Artifacts: the grace period before the rate check starts.
  minRateGraceMs: 10_000,
  // Mirror requests: redirects followed before the mirror counts as unreachable (http(s) only).
  maxRedirects: 3,
  // SPEC config.md#health: one probe attempt may take at most this long (and never longer than the interval).
  probeAttemptTimeoutMs: 5_000,
  // SPEC design.md#probation: an update waits for another tide's probation this long past its end (its last failure's `stable`, the rollback).
  probationLockSlackMs: 5 * 60_000,
  // SPEC config.md#healthprobe: http `body`: only this much of a probe's answer is searched for the substring.
  probeBodyBytes: 64 * KiB,
  // Fail fast: this many refused attempts in a row, after the probe answered once, mean the service died.
  probeRefusedRounds: 3,
  // Processes: how much of a command's stdout and of its stderr is kept (the tail).
  processOutputBytes: 64 * KiB,
  // Processes: after a timeout, SIGTERM, then SIGKILL when the command is still alive this much later.
  processKillGraceMs: 2_000,
  // SPEC config.md#service: the restart command must return within this.
  serviceRestartTimeoutMs: 120_000,
  // SPEC formats.md#hooks: a hook (pre-swap, post-commit) that runs longer than this has failed.
  hookTimeoutMs: 300_000,
  // `tide release build --image`: one `podman save` of an image must finish within this.
  imageSaveTimeoutMs: 600_000,
  // Containers: one `podman load` of a release's image artifact must finish within this.
  imageLoadTimeoutMs: 600_000,
  // Containers: any other podman call (inspect, run, stop, rename, rm, rmi) must return within this;
  // stop and rm wait for the container's own stop timeout (podman's default 10 s) first.
  podmanCommandTimeoutMs: 60_000,
  // Containers: index.json, manifest and config of an oci-archive are read before loading; each is small.
  ociMetadataBytes: 64 * KiB,
  // SPEC trust.md#how-a-host-walks-the-chain: a host accepts at most this many new roots in one run (the rest next run).
  maxRootsPerRun: 32,
  // `tide update --from FILE`: an export holds a few documents and one release's artifacts.
  maxExportMembers: 10_000,
  // `tide update --from FILE`: one pax or long-name header of an export holds one path.
  maxExportMetaBytes: 64 * KiB,
  // Cheap checks: while every channel pointer is unchanged (304), revocations.json is asked for at most this often.
  revocationsRecheckMs: 6 * 3_600_000,
  // `tide daemon`: default [schedule] delay, the most a host waits after a cron tick (its offset is fixed per host).
  defaultScheduleDelayMs: 5 * 60_000,
  // [report]: the wait before the first retry of a failed fleet report; it doubles for each further retry.
  reportBackoffMs: 500,
  // [report]: the longest wait between two attempts, however many retries are configured.
  reportMaxBackoffMs: 30_000,
  // [report]: the fleet endpoint's answer is read up to this much (for the log line), then dropped.
  reportAnswerBytes: 4 * KiB,
  // `tide release rollout --reports DIR`: one report document (the webhook's JSON) is read up to this size; larger ones are skipped.
  maxFleetReportBytes: 64 * KiB,
  // `tide release rollout --reports DIR`: at most this many report files are read in one run (the newest by name win).
  maxFleetReportFiles: 100_000,
  // `tide release rollout --halt-on`: an expression longer than this is refused (it is typed by a person).
  maxHaltExpressionChars: 500,
  // `tide release rollout --prometheus URL`: one query to Prometheus' HTTP API must answer within this.
  prometheusQueryTimeoutMs: 10_000,
  // `tide release publish git+URL`: one git command (ls-remote, clone, commit, push) must finish within this.
  gitCommandTimeoutMs: 600_000,
} as const;

export const sizeUnits = { KiB, MiB, GiB };
