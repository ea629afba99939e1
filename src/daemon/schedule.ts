// `[schedule]` for `tide daemon`: when to check (cron), how long this host waits
// after each tick (a fixed per-host delay, so a fleet does not hit the mirrors at
// once), and the optional window in which updates may be applied. Pure.
import { createHash } from 'node:crypto';
import cron from 'node-cron';
import { TideError } from '../errors.js';
import { limits } from '../limits.js';

/** Minutes after local midnight; `end` may be smaller than `start` (the window crosses midnight). */
export interface ApplyWindow {
  start: number;
  end: number;
  /** As written in the config, for log lines. */
  text: string;
}

export interface DaemonSchedule {
  cron: string;
  /** This host's wait after every tick, in ms: the same on every tick. */
  delayMs: number;
  window: ApplyWindow | undefined;
}

const clock = /^([01]\d|2[0-3]):([0-5]\d)$|^24:00$/;

function minutesOf(text: string): number | undefined {
  if (!clock.test(text)) return undefined;
  const [hours, minutes] = text.split(':').map(Number) as [number, number];
  return hours * 60 + minutes;
}

/** "02:00-05:00" (local time; "22:00-04:00" crosses midnight; "24:00" ends a window at midnight). */
export function parseWindow(text: string): ApplyWindow {
  const parts = text.split('-').map((p) => p.trim());
  const start = parts.length === 2 ? minutesOf(parts[0]!) : undefined;
  const end = parts.length === 2 ? minutesOf(parts[1]!) : undefined;
  if (start === undefined || end === undefined || start === 1440) {
    throw new TideError('config', `schedule.window: expected "HH:MM-HH:MM" in local time (e.g. "02:00-05:00"), found ${JSON.stringify(text)}`);
  }
  if (start === end % 1440) {
    throw new TideError('config', `schedule.window: ${JSON.stringify(text)} starts where it ends; leave window out to apply at any time`);
  }
  return { start, end, text };
}

/** Whether `at` (local time, to the minute) is inside the window: start inclusive, end exclusive. */
export function inWindow(window: ApplyWindow, at: Date): boolean {
  const minute = at.getHours() * 60 + at.getMinutes();
  if (window.start < window.end) return minute >= window.start && minute < window.end;
  return minute >= window.start || minute < window.end;
}

/**
 * This host's delay after each tick: a fixed fraction of `maxDelayMs` from
 * sha256(machine_id:app), like systemd's RandomizedDelaySec with FixedRandomDelay=yes.
 * Fixed per host, so the fleet's load on the mirrors is spread evenly and is the
 * same every hour, and a host's check time is predictable when debugging it.
 */
export function hostDelayMs(machineId: string, app: string, maxDelayMs: number): number {
  if (maxDelayMs <= 0) return 0;
  const fraction = parseInt(createHash('sha256').update(`${machineId}:${app}:schedule`).digest('hex').slice(0, 8), 16) / 0x1_0000_0000;
  return Math.floor(fraction * maxDelayMs);
}

export function daemonSchedule(schedule: { cron: string; window?: string; delay?: number }, machineId: string, app: string): DaemonSchedule {
  if (!cron.validate(schedule.cron)) {
    throw new TideError('config', `schedule.cron: expected a cron expression (5 fields, or 6 with seconds first), found ${JSON.stringify(schedule.cron)}`);
  }
  return {
    cron: schedule.cron,
    delayMs: hostDelayMs(machineId, app, schedule.delay ?? limits.defaultScheduleDelayMs),
    window: schedule.window === undefined ? undefined : parseWindow(schedule.window),
  };
}
