// A client that asks the front end (nginx on 127.0.0.1) every 10 ms what it serves,
// each time on a new connection, and remembers every answer with its start time.
import http from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';

export interface PollAnswer {
  /** Date.now() when the request started. */
  at: number;
  ok: boolean;
  /** The body of a 200 ("demo 1.1.0"), or what went wrong. */
  body: string;
}

export interface FrontEndPoller {
  stop(): Promise<PollAnswer[]>;
}

const POLL_EVERY_MS = 10;
const REQUEST_TIMEOUT_MS = 1_000;

function ask(url: string): Promise<PollAnswer> {
  const at = Date.now();
  return new Promise((resolve) => {
    const request = http.get(url, { agent: false, timeout: REQUEST_TIMEOUT_MS }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ at, ok: response.statusCode === 200, body: response.statusCode === 200 ? body.trim() : `HTTP ${response.statusCode}` }));
      response.on('error', (err) => resolve({ at, ok: false, body: err.message }));
    });
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', (err) => resolve({ at, ok: false, body: err.message }));
  });
}

export function pollFrontEnd(url: string): FrontEndPoller {
  const answers: PollAnswer[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      answers.push(await ask(url));
      await delay(Math.max(0, POLL_EVERY_MS - (Date.now() - started)));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return answers;
    },
  };
}

/**
 * How long the front end did not answer 200: from the start of the first failed
 * request to the start of the next successful one, summed over every outage.
 */
export function outageMs(answers: PollAnswer[]): number {
  let total = 0;
  let since: number | undefined;
  for (const answer of answers) {
    if (!answer.ok && since === undefined) since = answer.at;
    if (answer.ok && since !== undefined) {
      total += answer.at - since;
      since = undefined;
    }
  }
  if (since !== undefined) throw new Error('the front end was still down when polling stopped');
  return total;
}

/** From the restart of the broken version to the old one answering again through nginx. */
export function rollbackLatency(answers: PollAnswer[], restartAt: number, oldBody: string): number {
  const down = answers.findIndex((a) => a.at >= restartAt && !a.ok);
  const back = answers.findIndex((a, i) => i > down && a.ok && a.body === oldBody);
  if (down < 0 || back < 0) throw new Error('the front end never went down and came back during the rollback');
  return answers[back]!.at - restartAt;
}
