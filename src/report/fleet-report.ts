// `[report] url = …`: after each transaction, POST what happened as JSON to the
// fleet's endpoint, with a timeout per attempt and a bounded number of retries
// with doubling backoff. A report is news, not part of the update: a failed one is
// a warning in the log, never a failed update.
import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { hostname } from 'node:os';
import type { Config } from '../config/load-config.js';
import { limits } from '../limits.js';
import type { Logger } from '../log/logger.js';
import { readHostState } from '../store/host-state.js';
import { layoutFor } from '../store/layout.js';
import { readVersionLink } from '../store/version-links.js';
import type { RunSummary } from './run-summary.js';

/** The JSON body POSTed to the fleet endpoint. */
export interface FleetReport {
  schema: 1;
  app: string;
  channel: string;
  /** The host's name, for people. */
  host: string;
  /** A stable host id derived from machine_id (never machine_id itself, which is meant to stay on the host). */
  machine: string;
  command: string;
  result: string;
  from: string | null;
  to: string | null;
  reason: string;
  exitCode: number;
  durationMs: number;
  /** When the run ended (ISO 8601). */
  time: string;
  /** Where the host stands after the run. */
  current: string | null;
  previous: string | null;
  bad: string[];
}

export interface PostOptions {
  url: string;
  timeoutMs: number;
  /** Attempts after the first. */
  retries: number;
  logger: Logger;
  backoffMs?: number;
  maxBackoffMs?: number;
}

type Attempt = { ok: true; status: number } | { ok: false; retry: boolean; why: string };

/** POST once; resolve with what happened, never reject. */
function postOnce(url: URL, body: string, timeoutMs: number): Promise<Attempt> {
  return new Promise((resolve) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    // agent: false: one connection per attempt, closed after, so nothing keeps tide alive.
    const req = send(url, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'tide' },
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    const done = (attempt: Attempt) => {
      clearTimeout(timer);
      resolve(attempt);
    };
    req.once('error', (err) => done({ ok: false, retry: true, why: err.message }));
    req.once('response', (res: IncomingMessage) => {
      let seen = 0;
      res.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > limits.reportAnswerBytes) res.destroy();
      });
      res.once('close', () => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) done({ ok: true, status });
        // Busy or broken endpoints may recover; a 4xx is a refusal that will not change.
        else done({ ok: false, retry: status >= 500 || status === 408 || status === 429, why: `HTTP ${status}` });
      });
    });
    req.end(body);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Deliver the report; true when the endpoint accepted it. */
export async function postReport(report: FleetReport, options: PostOptions): Promise<boolean> {
  let url: URL;
  try {
    url = new URL(options.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`not an http(s) URL`);
  } catch (err) {
    options.logger.log('warn', { event: 'report', message: `report not sent: [report] url ${JSON.stringify(options.url)}: ${(err as Error).message}` });
    return false;
  }
  const body = JSON.stringify(report);
  const attempts = 1 + Math.max(0, options.retries);
  let wait = options.backoffMs ?? limits.reportBackoffMs;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const answer = await postOnce(url, body, options.timeoutMs);
    if (answer.ok) {
      options.logger.log('debug', { event: 'report', message: `reported ${report.result} to ${url.origin} (attempt ${attempt})`, attempt });
      return true;
    }
    const last = attempt === attempts || !answer.retry;
    options.logger.log('warn', { event: 'report', message: `report to ${url.origin} failed (attempt ${attempt} of ${attempts}): ${answer.why}${last ? '; giving up, the update itself is not affected' : ''}`, attempt });
    if (last) return false;
    await sleep(wait);
    wait = Math.min(wait * 2, options.maxBackoffMs ?? limits.reportMaxBackoffMs);
  }
  return false;
}

export function fleetReportOf(config: Config, summary: RunSummary, machineId: string, now: Date): FleetReport {
  const layout = layoutFor(config.state_dir);
  return {
    schema: 1,
    app: config.app,
    channel: config.channel,
    host: hostname(),
    machine: createHash('sha256').update(`tide:${machineId}`).digest('hex').slice(0, 32),
    command: summary.command,
    result: summary.result,
    from: summary.from,
    to: summary.to,
    reason: summary.reason,
    exitCode: summary.exitCode,
    durationMs: summary.durationMs,
    time: now.toISOString(),
    current: readVersionLink(layout.current),
    previous: readVersionLink(layout.previous),
    bad: readHostState(layout).bad,
  };
}

/** After a run: tell the fleet endpoint about a transaction, when one is configured. Never throws. */
export async function reportRun(config: Config, logger: Logger, summary: RunSummary, machineId: string): Promise<void> {
  if (!config.report?.url || !summary.transaction) return;
  try {
    const report = fleetReportOf(config, summary, machineId, new Date());
    await postReport(report, { url: config.report.url, timeoutMs: config.report.timeout, retries: config.report.retries, logger });
  } catch (err) {
    logger.log('warn', { event: 'report', message: `report not sent: ${(err as Error).message}` });
  }
}
