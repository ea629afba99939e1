// SPEC config.md#healthprobe: type = "tcp": the port accepts a connection.
import { connect } from 'node:net';
import type { ProbeSpec } from '../config/schema.js';
import { formatDuration } from '../config/units.js';
import { unreachableResult, type ProbeResult } from './probe-result.js';

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
