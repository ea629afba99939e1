#!/usr/bin/env -S node --max-semi-space-size=1
// The flag keeps V8's young generation at 1 MiB: a staging process would otherwise
// grow it to 16 MiB for a stream of short-lived Buffers (bench: peak RSS while
// staging). scripts/install.sh's wrapper and the bench take the flags from this line.
import { main } from './main.js';
import { ExitCode, operatorLine } from '../errors.js';

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    process.stderr.write(operatorLine(err) + '\n');
    process.exitCode = ExitCode.internal;
  },
);
