// Ask every mirror at once; each answer is the value or that mirror's TideError.
import { isTideError, TideError } from '../errors.js';

export type MirrorAnswer<T> = { mirror: string; value: T } | { mirror: string; error: TideError };

export async function askEveryMirror<T>(mirrors: readonly string[], ask: (mirror: string) => Promise<T>): Promise<MirrorAnswer<T>[]> {
  return Promise.all(
    mirrors.map(async (mirror) => {
      try {
        return { mirror, value: await ask(mirror) };
      } catch (err) {
        const error = isTideError(err) ? err.at({ mirror }) : new TideError('internal', String((err as Error)?.message ?? err), { mirror });
        return { mirror, error };
      }
    }),
  );
}
