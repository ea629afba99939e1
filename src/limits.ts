// Every limit in one place, with its default. Enforced while streaming, not after.

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

export const limits = {
  // SPEC Release manifest: documents larger than 1 MiB are refused without reading further.
  maxDocumentBytes: 1 * MiB,
  // SPEC Release manifest: signatures larger than 64 KiB are refused.
  maxSignatureBytes: 64 * KiB,
  // SPEC Bundle: more than 100 000 entries is refused.
  maxBundleEntries: 100_000,
  // SPEC Config: max_unpacked default.
  defaultMaxUnpacked: 1 * GiB,
  // Longest entry path we accept; node-tar had CVEs around very long/deep paths.
  maxEntryPathBytes: 4096,
  // Deepest directory nesting inside a bundle.
  maxEntryDepth: 64,
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
} as const;

export const sizeUnits = { KiB, MiB, GiB };
