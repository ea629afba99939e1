#!/usr/bin/env node
import { main } from './main.js';
import { ExitCode, operatorLine } from '../errors.js';

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    process.stderr.write(operatorLine(err) + '\n');
    process.exitCode = ExitCode.internal;
  },
);
