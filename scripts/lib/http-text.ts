// What a server on 127.0.0.1 answers, as one line the tests and the demo compare:
// the body of a 200, "HTTP <status>", or "error: <what went wrong>".
import { setTimeout as delay } from 'node:timers/promises';

/** The trimmed body of a 200, else `HTTP <status>`, else `error: <message>`. */
export async function fetchText(url: string | URL, timeoutMs = 2_000): Promise<string> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return res.status === 200 ? (await res.text()).trim() : `HTTP ${res.status}`;
  } catch (err) {
    return `error: ${(err as Error).message}`;
  }
}

/** The body at http://127.0.0.1:PORT/, or what went wrong; retried briefly while a container starts. */
export async function httpText(port: number, tries = 20): Promise<string> {
  let last = '';
  for (let i = 0; i < tries; i++) {
    last = await fetchText(`http://127.0.0.1:${port}/`, 1_000);
    if (!last.startsWith('error: ')) return last;
    await delay(100);
  }
  return last;
}
