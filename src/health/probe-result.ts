// What one probe attempt saw: the contract between the probes (http, tcp, command,
// unit, container) and the health check that judges them.

export interface ProbeResult {
  ok: boolean;
  /** What the probe saw, completing "<probe> …": "answered 500, expected 200". */
  detail: string;
  /** The target is gone for good (a failed unit, a removed container): stop waiting. */
  gone?: boolean;
  /** The application itself answered (a connection, an HTTP status other than 502/503/504). */
  answered?: boolean;
  /** Nobody listens: ECONNREFUSED, or a proxy in front says 502/503/504. */
  refused?: boolean;
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
