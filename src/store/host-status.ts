// SPEC commands.md#status-json: what an operator (or a fleet dashboard) asks first.
import { readFileSync } from 'node:fs';
import type { Config } from '../config/load-config.js';
import { layoutFor } from './layout.js';
import { readHostState } from './host-state.js';
import { readVersionLink } from './version-links.js';

export interface HostStatus {
  app: string;
  channel: string;
  current: string | null;
  previous: string | null;
  pending: { from: string | null; to: string; phase: string; deadline: string } | null;
  bad: string[];
  lastCheck: string | null;
  lastResult: string | null;
}

/** Only the keys it shows: `tide status` reads them without the full config loader. */
export function readHostStatus(config: Pick<Config, 'app' | 'channel' | 'state_dir'>): HostStatus {
  const layout = layoutFor(config.state_dir);
  const state = readHostState(layout);
  return {
    app: config.app,
    channel: config.channel,
    current: readVersionLink(layout.current),
    previous: readVersionLink(layout.previous),
    pending: readPending(layout.pending),
    bad: state.bad,
    lastCheck: state.lastCheck,
    lastResult: state.lastResult,
  };
}

function readPending(path: string): HostStatus['pending'] {
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as { from: string | null; to: string; phase: string; deadline: string };
    return { from: m.from, to: m.to, phase: m.phase, deadline: m.deadline };
  } catch {
    return null;
  }
}
