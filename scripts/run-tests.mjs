#!/usr/bin/env node
// Runs every compiled test file in its own process (two at a time, one per core),
// prints each file's output, and closes with "N passed, N failed".
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const testDir = join(root, 'dist', 'test');
const filter = process.argv[2];

function findTests(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return findTests(path);
    return name.endsWith('.test.js') ? [path] : [];
  });
}

const files = findTests(testDir).filter((f) => !filter || f.includes(filter)).sort();
const concurrency = Number(process.env.TEST_CONCURRENCY ?? 2);
let passed = 0, failed = 0, skipped = 0;
const crashed = [];

function runFile(file) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [file], { cwd: root, env: { ...process.env, FORCE_COLOR: '0' } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => {
      const num = (label) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(out)?.[1] ?? NaN);
      const total = num('Total'), ok = num('Passed'), skip = num('Skipped');
      const name = relative(testDir, file);
      if (Number.isNaN(total)) {
        failed += 1;
        crashed.push(name);
      } else {
        passed += ok;
        skipped += skip;
        failed += total - ok - skip;
        if (code !== 0 && total === ok + skip) { failed += 1; crashed.push(name); }
      }
      process.stdout.write(`\n== ${name} (exit ${code}, ${((Date.now() - started) / 1000).toFixed(1)}s)\n${out}`);
      resolve();
    });
  });
}

const queue = [...files];
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (queue.length) await runFile(queue.shift());
}));
if (crashed.length) console.log(`\nfiles that crashed or failed outside a test: ${crashed.join(', ')}`);
if (skipped > 0) { console.log(`\n${skipped} tests were skipped: no test may be skipped`); failed += skipped; }
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 && files.length > 0 ? 0 : 1);
