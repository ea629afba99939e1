// Where `tide release rollout` reads the fleet's results from: a directory of the report
// webhook's JSON documents (--reports DIR), or Prometheus' query API over the textfile
// metrics every host writes (--prometheus URL; src/report/metrics.ts). Both answer the
// same question: for version V of this app and channel, what happened on the hosts.
import { TideError } from '../errors.js';
import { limits } from '../limits.js';
import { readFleetResults, type VersionResults } from './fleet-results.js';

/** `--steps 1,10,50,100`: ascending percentages above 0, at most 100. */
export function parseSteps(text: string): number[] {
  const steps = text.split(',').map((part) => part.trim().replace(/%$/, ''));
  const numbers = steps.map(Number);
  const ascending = numbers.every((n, i) => i === 0 || n > numbers[i - 1]!);
  if (steps.some((s) => !/^\d+(\.\d+)?$/.test(s)) || numbers.some((n) => n <= 0 || n > 100) || !ascending) {
    throw new TideError('usage', `--steps must be ascending percentages above 0 and at most 100, like 1,10,50,100; got ${JSON.stringify(text)}`);
  }
  return numbers;
}

export interface FleetSourceOptions {
  app: string;
  channel: string;
  reports?: string;
  prometheus?: string;
}

export function fleetSource(options: FleetSourceOptions): (version: string) => Promise<VersionResults | undefined> {
  if ((options.reports === undefined) === (options.prometheus === undefined)) {
    throw new TideError('usage', 'release rollout: give the fleet\'s results with --reports DIR or --prometheus URL (one of them)');
  }
  if (options.reports !== undefined) {
    const dir = options.reports;
    return async (version) => readFleetResults(dir, options.app, options.channel).versions.get(version);
  }
  return (version) => prometheusResults(options.prometheus!, options.app, version);
}

// PromQL string literals: backslash and double quote escaped.
const literal = (value: string): string => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/**
 * One instant query at Prometheus' own now (--now moves the controller's clock for step
 * ages, not the fleet's samples); the sum of the vector's values (0 for an empty vector).
 */
async function instantSum(base: string, query: string): Promise<number> {
  const url = new URL('api/v1/query', base.endsWith('/') ? base : `${base}/`);
  url.searchParams.set('query', query);
  let body: unknown;
  try {
    const answer = await fetch(url, { signal: AbortSignal.timeout(limits.prometheusQueryTimeoutMs) });
    if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
    body = await answer.json();
  } catch (err) {
    throw new TideError('unreachable', `Prometheus query ${query} failed: ${(err as Error).message}`, { mirror: base });
  }
  const data = (body as { status?: string; data?: { resultType?: string; result?: { value?: [number, string] }[] } });
  if (data.status !== 'success' || data.data?.resultType !== 'vector' || !Array.isArray(data.data.result)) {
    throw new TideError('schema', `Prometheus answered ${JSON.stringify(body).slice(0, 200)} to ${query}, expected a vector`, { mirror: base });
  }
  return data.data.result.reduce((sum, sample) => sum + Number(sample.value?.[1] ?? 0), 0);
}

/**
 * From the textfile metrics: hosts running V (tide_current_version_info) are its commits;
 * hosts that list V as bad (tide_bad_version_info, a failed health check there) are its
 * rollbacks. Late rollbacks cannot be told apart here (0); failures are hosts whose last
 * result is rollback-failed while listing V as bad.
 */
export async function prometheusResults(base: string, app: string, version: string): Promise<VersionResults> {
  const match = `app=${literal(app)},version=${literal(version)}`;
  const [commits, rollbacks, failures] = await Promise.all([
    instantSum(base, `count(tide_current_version_info{${match}} == 1)`),
    instantSum(base, `count(tide_bad_version_info{${match}} == 1)`),
    instantSum(base, `count((tide_bad_version_info{${match}} == 1) and on(instance, app) (tide_last_result{app=${literal(app)},result="rollback-failed"} == 1))`),
  ]);
  return { version, commits, rollbacks, lateRollbacks: 0, failures, reports: commits + rollbacks, hosts: commits + rollbacks, lastReasons: [] };
}
