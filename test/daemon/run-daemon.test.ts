// The daemon loop with a fake run: ticks every second (node-cron), skips ticks while
// a run is under way, waits the host's delay, and stops at once when asked.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { setTimeout as delay } from 'node:timers/promises';
import { runDaemon } from '../../src/daemon/run-daemon.js';
import type { RunKind } from '../../src/daemon/daemon-run.js';
import type { LogEvent, Logger } from '../../src/log/logger.js';
import type { RunSummary } from '../../src/report/run-summary.js';

function recorder(): Logger & { events: LogEvent[] } {
  const events: LogEvent[] = [];
  return { events, log: (_level, event) => events.push(event) };
}

const summary = (run: number): RunSummary => ({ command: 'daemon', result: 'up-to-date', from: '1.0.0', to: '1.0.0', reason: `run ${run}`, exitCode: 0, durationMs: 1, transaction: false });

test('a slow run makes the next ticks skip; runs never overlap; SIGTERM interrupts the run under way', async () => {
  const logger = recorder();
  const stop = new AbortController();
  const calls: { kind: RunKind; run: number; started: number; ended?: number; interrupted?: boolean }[] = [];
  const daemon = runDaemon({
    app: 'demo', logger, stop: stop.signal,
    schedule: { cron: '* * * * * *', delayMs: 0, window: undefined },
    async run(kind, run, interrupt) {
      const call: (typeof calls)[number] = { kind, run, started: Date.now() };
      calls.push(call);
      // Each scheduled run lasts 2.5 s unless interrupted.
      if (kind === 'scheduled') await Promise.race([delay(2_500), new Promise((r) => interrupt.signal.addEventListener('abort', r))]);
      call.ended = Date.now();
      call.interrupted = interrupt.signal.aborted;
      return summary(run);
    },
  });
  await delay(4_600);
  stop.abort();
  const stats = await daemon;
  assert.is(calls[0]!.kind, 'settle');
  assert.ok(calls.length >= 2 && calls.length <= 3, `${calls.length} runs`);
  for (let i = 1; i < calls.length; i++) assert.ok(calls[i]!.started >= calls[i - 1]!.ended!, 'no overlap');
  assert.ok(stats.skipped >= 1, `${stats.skipped} skipped`);
  assert.is(logger.events.filter((e) => e.event === 'run-skipped').length, stats.skipped);
  // The last run was under way at SIGTERM: its interrupt fired and it ended before runDaemon returned.
  assert.is(calls.at(-1)!.interrupted, true);
  assert.ok(calls.at(-1)!.ended! - calls.at(-1)!.started < 2_500);
  assert.is(logger.events.at(-1)!.event, 'daemon-stop');
});

test('stopping during the per-host delay starts no run', async () => {
  const logger = recorder();
  const stop = new AbortController();
  const kinds: RunKind[] = [];
  const started = Date.now();
  const daemon = runDaemon({
    app: 'demo', logger, stop: stop.signal,
    schedule: { cron: '* * * * * *', delayMs: 60_000, window: undefined },
    async run(kind, run) {
      kinds.push(kind);
      return summary(run);
    },
  });
  await delay(1_500);
  stop.abort();
  const stats = await daemon;
  assert.ok(Date.now() - started < 5_000, 'returned without waiting out the delay');
  assert.equal(kinds, ['settle']);
  assert.is(stats.runs, 2, 'a tick came and began its delay');
  assert.is(logger.events.filter((e) => e.event === 'run-start').length, 1);
  assert.ok(logger.events.every((e) => e.app === 'demo'));
});

test('a run that throws is logged and the daemon goes on', async () => {
  const logger = recorder();
  const stop = new AbortController();
  let calls = 0;
  const daemon = runDaemon({
    app: 'demo', logger, stop: stop.signal,
    schedule: { cron: '* * * * * *', delayMs: 0, window: undefined },
    async run(_kind, run) {
      calls += 1;
      if (run === 1) throw new Error('boom');
      return summary(run);
    },
  });
  for (let i = 0; i < 40 && calls < 2; i++) await delay(100);
  stop.abort();
  await daemon;
  assert.ok(calls >= 2, `${calls} calls`);
  assert.ok(logger.events.some((e) => e.event === 'run-end' && /boom/.test(e.message)));
});

test.run();
