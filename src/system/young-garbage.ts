// A download and a gunzip make a stream of fresh Buffers that die at once, but V8
// collects young ArrayBuffers only when about 32 MB of them have piled up (twice its
// default semi-space), so a staging process would carry that much garbage. A
// young-generation collection every few MiB costs a fraction of a millisecond and
// keeps the garbage small (bench: peak RSS while staging); parsed documents, which
// outlive the young generation, get one full collection (droppedDocuments). The
// collector is reached the way Jest's leak detector reaches it: `--expose-gc` set at
// run time, `gc` taken from a fresh context; a process started with --expose-gc uses
// its own.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { sizeUnits } from '../limits.js';

type Collect = (options?: { type: 'minor' }) => void;

const STEP_BYTES = 4 * sizeUnits.MiB;

let collect: Collect | undefined;
let sinceLast = 0;

function collector(): Collect {
  if (collect === undefined) {
    const own = (globalThis as { gc?: Collect }).gc;
    if (own) collect = own;
    else {
      setFlagsFromString('--expose-gc');
      collect = runInNewContext('gc') as Collect;
      setFlagsFromString('--no-expose-gc');
    }
  }
  return collect;
}

/** Count `bytes` of Buffers just dropped; every few MiB, collect the young generation. */
export function droppedBuffers(bytes: number): void {
  sinceLast += bytes;
  if (sinceLast < STEP_BYTES) return;
  sinceLast = 0;
  collector()({ type: 'minor' });
}

/**
 * Parsed documents just dropped (a release's tree.json and a kept one's: JSON, then the
 * schema's copy, then the policy's): their garbage outlives the young generation and would
 * stay until V8's first old-generation collection, past 30 MB of heap. One full collection
 * here, about 9 ms, keeps the peak flat in tree size (bench: peak RSS of a delta). Called
 * without options, as V8's forced collection: `{ type: 'major' }` left a 4 MB higher peak.
 */
export function droppedDocuments(): void {
  collector()();
}
