#!/usr/bin/env -S UV_THREADPOOL_SIZE=8 MALLOC_ARENA_MAX=2 node --max-semi-space-size=1 --no-opt
// How Node runs tide (scripts/install.sh's wrapper and the bench take it from this
// line). tide waits on disks and networks; it spends its memory on neither V8's
// optimizing compiler nor spare heaps (bench: peak RSS while staging, 180 -> ~90 MB):
// - 8 threads in libuv's pool, twice the default: staging writes and fsyncs many
//   files at once there, and gunzip must still find a free thread;
// - 2 malloc arenas: the pool's threads would otherwise each keep one;
// - a 1 MiB young generation: a staging process would otherwise grow it to 16 MiB
//   for a stream of short-lived Buffers;
// - no TurboFan (--no-opt): its code and compile zones cost ~8 MB and staging runs
//   as fast without it (the interpreter and Sparkplug run the little JS there is).
import { main } from './main.js';
import { ExitCode, operatorLine } from '../errors.js';
import { installLastResort } from '../system/last-resort.js';
import { ignoreClosedOutput } from './closed-output.js';

ignoreClosedOutput();
// Until a command has its own reporter (text or JSON), an escaped error is one text line.
installLastResort((err) => process.stderr.write(operatorLine(err) + '\n'));
main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    process.stderr.write(operatorLine(err) + '\n');
    process.exitCode = ExitCode.internal;
  },
);
