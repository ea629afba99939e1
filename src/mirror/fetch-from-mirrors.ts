// How the pipeline uses several untrusted mirrors. Documents: ask every mirror at
// once and let verification pick.
// SPEC formats.md#which-pointer-wins: all mirrors are asked; the valid pointer with the
// highest sequence wins. Artifacts: one mirror after the
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

// A refusal means a mirror served bytes that failed verification; "unreachable"
// only that it could not be asked. The first says more about what is wrong.
// Anything else (an internal error while asking a mirror) comes last.
const rankOf = (err: TideError): number =>
  err.exitCode === ExitCode.refused ? 0 : err.exitCode === ExitCode.unreachable ? 1 : 2;

/** One mirror's part of the line: which mirror, and how it failed. */
function howItFailed(err: TideError): string {
  const entry = err.where.entry ? ` (entry ${JSON.stringify(err.where.entry)})` : '';
  return `${err.where.mirror}: ${err.message}${entry}`;
}

/**
 * The one error to report when every mirror failed for `file`, whatever the file
 * (channel pointer, manifest or artifact), so the operator gets the same kind
 * of answer. Its code and exit code are those of the most telling failure: a
 * refusal (exit 3: signature, hash, size, expired, ...) outranks unreachability
 * (exit 4: unreachable, timeout, not found); among equals, the first in the order
 * the mirrors were asked. With several mirrors the message names each one and how
 * it failed, in one line.
 */
export function everyMirrorFailed(errors: readonly TideError[], file: string): TideError {
  const reported = errors.reduce<TideError | undefined>((best, err) => (!best || rankOf(err) < rankOf(best) ? err : best), undefined);
  if (!reported) return new TideError('config', `expected at least one mirror for ${file}, found none`, { file });
  if (errors.length === 1) return reported;
  const message = `no mirror gave a valid answer for ${file}: ${errors.map(howItFailed).join('; ')}`;
  return new TideError(reported.code, message, { file }, { cause: reported });
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
  throw everyMirrorFailed(errors, path);
}
