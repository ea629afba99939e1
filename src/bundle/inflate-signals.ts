// How far the download has written the bundle, told to the inflate worker in
// shared memory. The main thread only stores; the worker, when it has caught up,
// looks again every few milliseconds. Waking the other thread is what costs (on a
// busy 2-core machine a wake-up per step cost the main thread more than the
// worker's polling costs the worker), and a few milliseconds of latency per catch-up
// are nothing next to a download.
import { setTimeout as sleep } from 'node:timers/promises';

// Int32 slot.
const COMPLETE = 0; // 1 once the download is verified and whole
// BigInt64 slot (after 8 bytes, aligned).
const WRITTEN = 0; // bytes of the bundle on disk

// How long the worker sleeps before it looks again.
const POLL_MS = 2;

export class InflateSignals {
  readonly shared: SharedArrayBuffer;
  private readonly flags: Int32Array;
  private readonly counters: BigInt64Array;

  constructor(shared = new SharedArrayBuffer(16)) {
    this.shared = shared;
    this.flags = new Int32Array(shared, 0, 2);
    this.counters = new BigInt64Array(shared, 8, 1);
  }

  // The main thread's side.

  written(offset: number): void {
    Atomics.store(this.counters, WRITTEN, BigInt(offset));
  }

  complete(): void {
    Atomics.store(this.flags, COMPLETE, 1);
  }

  // The worker's side.

  get writtenBytes(): number {
    return Number(Atomics.load(this.counters, WRITTEN));
  }

  get isComplete(): boolean {
    return Atomics.load(this.flags, COMPLETE) === 1;
  }

  /** Sleep until the bundle is on disk up to `offset` (or whole), or until `giveUp()`. */
  async untilWritten(offset: number, giveUp: () => boolean): Promise<void> {
    while (!this.isComplete && this.writtenBytes < offset && !giveUp()) await sleep(POLL_MS);
  }
}
