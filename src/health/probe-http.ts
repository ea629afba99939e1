// SPEC config.md#healthprobe: type = "http": GET the url; the status must be `expect` and,
// when `body` is set, the answer must contain it. node:http/https directly: got is
// slow to import and its retries would hide what the service did.
import { readFile } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import type { ProbeSpec } from '../config/schema.js';
import { formatDuration } from '../config/units.js';
import { limits } from '../limits.js';
import { unreachableResult, type ProbeResult } from './probe-result.js';

type HttpProbe = Extract<ProbeSpec, { type: 'http' }>;

/** Through nginx a dead backend shows up as one of these: the service is not there. */
const proxyDownStatuses = new Set([502, 503, 504]);

export async function probeHttp(probe: HttpProbe, timeoutMs: number): Promise<ProbeResult> {
  let ca: string[] | undefined;
  if (probe.ca !== undefined) {
    try {
      // `ca` adds to the system roots; Node's option alone would replace them.
      ca = [...rootCertificates, await readFile(probe.ca, 'utf8')];
    } catch (err) {
      return { ok: false, detail: `cannot be checked: cannot read the CA file ${probe.ca} (${errorCode(err)})` };
    }
  }
  return request(probe, timeoutMs, ca);
}

function request(probe: HttpProbe, timeoutMs: number, ca: string[] | undefined): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const url = new URL(probe.url);
    const client = url.protocol === 'https:' ? https : http;
    let done = false;
    const finish = (result: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(result);
    };
    // A fresh connection per attempt (agent: false): a kept-alive socket would hide a restart.
    const req = client.request(url, {
      method: 'GET',
      agent: false,
      headers: { 'user-agent': 'tide-health', accept: '*/*', connection: 'close' },
      rejectUnauthorized: !probe.insecure,
      ca,
    });
    const timer = setTimeout(
      () => finish({ ok: false, detail: `gave no answer within ${formatDuration(timeoutMs)}` }),
      timeoutMs,
    );
    req.once('error', (err) => finish(requestFailure(err)));
    req.once('response', (res) => {
      judgeResponse(probe, res).then(finish, (err: Error) => finish(requestFailure(err)));
    });
    req.end();
  });
}

async function judgeResponse(probe: HttpProbe, res: IncomingMessage): Promise<ProbeResult> {
  const status = res.statusCode ?? 0;
  const proxyDown = proxyDownStatuses.has(status);
  const seen = { answered: !proxyDown, refused: proxyDown };
  if (status !== probe.expect) return { ok: false, detail: `answered ${status}, expected ${probe.expect}`, ...seen };
  if (probe.body === undefined) return { ok: true, detail: `answered ${status}`, ...seen };
  const body = await readUpTo(res, limits.probeBodyBytes);
  if (body.includes(probe.body)) return { ok: true, detail: `answered ${status} with ${JSON.stringify(probe.body)}`, ...seen };
  return {
    ok: false,
    detail: `answered ${status} without ${JSON.stringify(probe.body)} in the body (read ${body.length} bytes)`,
    ...seen,
  };
}

/** The start of the body, stopping at `max` bytes: a probe never buffers a huge answer. */
function readUpTo(res: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const stop = (): void => {
      res.removeAllListeners('data');
      resolve(Buffer.concat(chunks).subarray(0, max).toString('utf8'));
    };
    res.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= max) stop();
    });
    res.once('end', stop);
    res.once('error', reject);
  });
}

function requestFailure(err: NodeJS.ErrnoException): ProbeResult {
  const code = err.code ?? '';
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL/.test(code)) {
    return { ok: false, detail: `failed TLS verification: ${err.message}` };
  }
  if (code === 'ECONNRESET' && err.message === 'socket hang up') {
    return { ok: false, detail: 'closed the connection without answering' };
  }
  return unreachableResult(err);
}

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err);
}
