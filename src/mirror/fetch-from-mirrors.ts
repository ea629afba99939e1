// How the pipeline uses several untrusted mirrors. Documents: ask every mirror at
// once and let verification pick (SPEC Channel pointer: all mirrors are asked; the
// valid pointer with the highest sequence wins). Artifacts: one mirror after the
// other until one delivers the signed bytes.
import { ExitCode, TideError } from '../errors.js';
import { silentLogger, type Logger } from '../log/logger.js';
import type { ConditionalRequest, ExpectedArtifact, FetchedDocument, MirrorClient, ProgressListener } from './mirror-client.js';

/** One mirror's answer: the document, or why there is none. */
export type MirrorAnswer = { mirror: string } & (({ ok: true } & FetchedDocument) | { ok: false; error: TideError });

function asTideError(err: unknown, mirror: string, path: string): TideError {
  if (err instanceof TideError) return err.at({ mirror, file: path });
  const message = err instanceof Error ? err.message : String(err);
  return new TideError('internal', `fetching failed unexpectedly: ${message}`, { mirror, file: path }, { cause: err });
}

/**
 * Ask every mirror for `path` concurrently. Never throws: each answer is the
 * document or the TideError, in the order of `mirrors`. `conditionalFor` gives the
 * validators a mirror sent last time (they are per mirror).
 */
export async function fetchFromAll(
  mirrors: readonly string[],
  path: string,
  maxBytes: number,
  client: MirrorClient,
  conditionalFor?: (mirror: string) => ConditionalRequest | undefined,
): Promise<MirrorAnswer[]> {
  return Promise.all(
    mirrors.map(async (mirror): Promise<MirrorAnswer> => {
      try {
        const document = await client.fetchDocument(mirror, path, maxBytes, conditionalFor?.(mirror));
        return { mirror, ok: true, ...document };
      } catch (err) {
        return { mirror, ok: false, error: asTideError(err, mirror, path) };
      }
    }),
  );
}

/**
 * The error to report when every mirror failed: a refusal (a mirror served wrong
 * bytes: exit 3) says more than "unreachable" (exit 4); among equals, the last.
 */
export function mostMeaningful(errors: readonly TideError[]): TideError | undefined {
  const refusals = errors.filter((err) => err.exitCode === ExitCode.refused);
  return refusals.at(-1) ?? errors.at(-1);
}

/**
 * Download an artifact from the first mirror that delivers the signed bytes,
 * moving on after a hash mismatch, a stall or any mirror error. The part file
 * left by a stalled mirror is resumed by the next. Returns the mirror that served.
 */
export async function downloadFromFirstGood(
  mirrors: readonly string[],
  path: string,
  expect: ExpectedArtifact,
  dest: string,
  client: MirrorClient,
  log: Logger = silentLogger,
  onProgress?: ProgressListener,
): Promise<string> {
  const errors: TideError[] = [];
  for (const mirror of mirrors) {
    const startedAt = Date.now();
    try {
      await client.downloadArtifact(mirror, path, expect, dest, onProgress);
      log.log('debug', { event: 'download', message: `downloaded ${path} from ${mirror}`, mirror, file: path, durationMs: Date.now() - startedAt });
      return mirror;
    } catch (err) {
      // Not a mirror's fault (a full disk, a bug): another mirror will not help.
      if (!(err instanceof TideError) || err.code === 'internal') throw err;
      const located = err.at({ mirror, file: path });
      errors.push(located);
      log.log('warn', {
        event: 'download',
        message: `mirror ${mirror} failed for ${path}: ${located.message}`,
        mirror,
        file: path,
        result: located.code,
        durationMs: Date.now() - startedAt,
      });
    }
  }
  throw mostMeaningful(errors) ?? new TideError('config', 'expected at least one mirror, found none', { file: path });
}
