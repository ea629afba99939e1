// [schedule] for `tide daemon`: the apply window (local time, may cross midnight),
// the fixed per-host delay, and the cron expression check.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { daemonSchedule, hostDelayMs, inWindow, parseWindow } from '../../src/daemon/schedule.js';
import { throwsWithCode } from '../helpers/assert-error.js';

const at = (hh: number, mm: number) => new Date(2026, 10, 23, hh, mm, 30);

test('a window inside one day includes its start and excludes its end', () => {
  const window = parseWindow('02:00-05:00');
  assert.equal([window.start, window.end], [120, 300]);
  assert.not.ok(inWindow(window, at(1, 59)));
  assert.ok(inWindow(window, at(2, 0)));
  assert.ok(inWindow(window, at(4, 59)));
  assert.not.ok(inWindow(window, at(5, 0)));
  assert.not.ok(inWindow(window, at(14, 0)));
});

test('a window that crosses midnight covers both sides of it', () => {
  const window = parseWindow('22:30-04:00');
  assert.ok(inWindow(window, at(22, 30)));
  assert.ok(inWindow(window, at(23, 59)));
  assert.ok(inWindow(window, at(0, 0)));
  assert.ok(inWindow(window, at(3, 59)));
  assert.not.ok(inWindow(window, at(4, 0)));
  assert.not.ok(inWindow(window, at(22, 29)));
  assert.not.ok(inWindow(window, at(12, 0)));
});

test('a window may end at 24:00 and is read in local time', () => {
  const window = parseWindow(' 20:00 - 24:00 ');
  assert.ok(inWindow(window, at(23, 59)));
  assert.not.ok(inWindow(window, at(0, 0)));
  // Local, not UTC: the Date's own hours decide.
  const local = new Date(2026, 0, 1, 21, 15);
  assert.ok(inWindow(window, local));
});

test('refuses a window that is not HH:MM-HH:MM or is empty', () => {
  for (const text of ['2-5', '02:00', '02:00-05:00-07:00', '25:00-05:00', '02:60-05:00', '24:00-02:00', 'night']) {
    const err = throwsWithCode(() => parseWindow(text), 'config');
    assert.match(err.message, /schedule\.window/);
  }
  throwsWithCode(() => parseWindow('03:00-03:00'), 'config');
  throwsWithCode(() => parseWindow('00:00-24:00'), 'config');
});

test('the per-host delay is fixed per machine and app, spread over the whole range', () => {
  const max = 300_000;
  assert.is(hostDelayMs('machine-a', 'demo', max), hostDelayMs('machine-a', 'demo', max));
  const delays = Array.from({ length: 400 }, (_, i) => hostDelayMs(`machine-${i}`, 'demo', max));
  for (const delay of delays) assert.ok(delay >= 0 && delay < max, `delay ${delay}`);
  // Spread: each fifth of the range holds a fair share of 400 hosts.
  const fifths = [0, 0, 0, 0, 0];
  for (const delay of delays) fifths[Math.floor((delay / max) * 5)]! += 1;
  for (const count of fifths) assert.ok(count > 50 && count < 110, `fifths ${fifths.join(',')}`);
  assert.is.not(hostDelayMs('machine-a', 'demo', max), hostDelayMs('machine-a', 'other', max));
  assert.is(hostDelayMs('machine-a', 'demo', 0), 0);
});

test('the schedule checks the cron expression and defaults the delay to 5 minutes', () => {
  const schedule = daemonSchedule({ cron: '17 * * * *' }, 'machine-a', 'demo');
  assert.ok(schedule.delayMs >= 0 && schedule.delayMs < 300_000);
  assert.is(schedule.window, undefined);
  assert.is(daemonSchedule({ cron: '* * * * * *', delay: 0 }, 'm', 'demo').delayMs, 0);
  assert.is(daemonSchedule({ cron: '0 3 * * *', window: '02:00-05:00', delay: 0 }, 'm', 'demo').window?.text, '02:00-05:00');
  const err = throwsWithCode(() => daemonSchedule({ cron: 'every hour' }, 'm', 'demo'), 'config');
  assert.match(err.message, /schedule\.cron/);
  throwsWithCode(() => daemonSchedule({ cron: '0 3 * * *', window: '5am-6am' }, 'm', 'demo'), 'config');
});

test.run();
