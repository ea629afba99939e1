// SPEC config.md#healthprobe: type = "tcp": the port accepts a connection.
import { connect } from 'node:net';
import type { ProbeSpec } from '../config/schema.js';
import { formatDuration } from '../config/units.js';
import type { ProbeResult } from './probes.js';

type TcpProbe = Extract<ProbeSpec, { type: 'tcp' }>;

export function probeTcp(probe: TcpProbe, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host: probe.host, port: probe.port });
    let done = false;
    const finish = (result: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(
      () => finish({ ok: false, detail: `accepted no connection within ${formatDuration(timeoutMs)}` }),
      timeoutMs,
    );
    socket.once('connect', () => finish({ ok: true, detail: 'accepted a connection', answered: true }));
    socket.once('error', (err) => finish(unreachableResult(err)));
  });
}

/** How a connection failed, for tcp and http probes alike. */
export function unreachableResult(err: NodeJS.ErrnoException): ProbeResult {
  switch (err.code) {
    case 'ECONNREFUSED':
      // Counts toward fail fast: nobody listens on the port any more.
      return { ok: false, detail: 'refused the connection', refused: true };
    case 'ECONNRESET':
      return { ok: false, detail: 'reset the connection' };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { ok: false, detail: `could not be reached (${err.code})` };
    default:
      return { ok: false, detail: `failed: ${err.message}` };
  }
}
