#!/usr/bin/env node
// Runs every compiled test file in its own process (two at a time, one per core),
// prints each file's output, and closes with "N passed, N failed".
//
// The files that need no service (no `// test-needs: nginx, podman, systemd, network`
// line in their header) run twice more, under libfaketime with the clock a year ahead
// and a month behind, so no test can depend on today's date. They run with a guard
// preloaded that fails a file which starts a service without declaring it.
// TEST_CLOCK_SHIFTS=0 runs the first pass only (a quick local loop).
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const testDir = join(root, 'dist', 'test');
const guard = join(testDir, 'helpers', 'no-services.js');
const filter = process.argv[2];
const clockShifts = process.env.TEST_CLOCK_SHIFTS === '0' ? [] : ['+365d', '-30d'];

function findTests(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return findTests(path);
    return name.endsWith('.test.js') ? [path] : [];
  });
}

/** The services a test file declares in its header: `// test-needs: nginx, podman`. */
function needsOf(file) {
  const header = readFileSync(file, 'utf8').split('\n').slice(0, 20).join('\n');
  const line = /^\/\/ test-needs:(.*)$/m.exec(header);
  return line ? line[1].split(',').map((s) => s.trim()).filter(Boolean) : [];
}

const files = findTests(testDir).filter((f) => !filter || f.includes(filter)).sort();
const serviceFree = files.filter((f) => needsOf(f).length === 0);
const concurrency = Number(process.env.TEST_CONCURRENCY ?? 2);
// A file that hangs is killed and counted as failed, so the run always ends.
const fileTimeoutMs = Number(process.env.TEST_FILE_TIMEOUT_S ?? 600) * 1000;
let passed = 0, failed = 0, skipped = 0;
const crashed = [];

const haveFaketime = clockShifts.length === 0 || spawnSync('faketime', ['-f', '+0d', 'true']).status === 0;
if (!haveFaketime) {
  console.log('faketime is missing: the clock-shifted runs cannot run (sh scripts/install-test-deps.sh installs it)');
  failed += 1;
}

const jobs = [
  ...files.map((file) => ({ file, shift: null })),
  ...(haveFaketime ? clockShifts.flatMap((shift) => serviceFree.map((file) => ({ file, shift }))) : []),
];

function commandFor({ file, shift }) {
  if (shift === null) return [process.execPath, [file]];
  return ['faketime', ['-f', shift, process.execPath, '--import', guard, file]];
}

// Each file runs in a process group of its own (so a hung one is killed whole); a
// runner stopped by Ctrl-C or SIGTERM takes every group down with it.
const running = new Set();
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const pid of running) try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ }
    process.exit(130);
  });
}

function runJob(job) {
  return new Promise((resolve) => {
    const started = Date.now();
    const [command, args] = commandFor(job);
    const child = spawn(command, args, { cwd: root, env: { ...process.env, FORCE_COLOR: '0' }, detached: true });
    running.add(child.pid);
    let out = '';
    const timer = setTimeout(() => {
      out += `\nkilled after ${fileTimeoutMs / 1000}s (TEST_FILE_TIMEOUT_S)\n`;
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
    }, fileTimeoutMs);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => {
      clearTimeout(timer);
      running.delete(child.pid);
      const num = (label) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(out)?.[1] ?? NaN);
      const total = num('Total'), ok = num('Passed'), skip = num('Skipped');
      const name = relative(testDir, job.file) + (job.shift ? ` [clock ${job.shift}]` : '');
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

const queue = [...jobs];
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (queue.length) await runJob(queue.shift());
}));
if (crashed.length) console.log(`\nfiles that crashed or failed outside a test: ${crashed.join(', ')}`);
if (skipped > 0) { console.log(`\n${skipped} tests were skipped: no test may be skipped`); failed += skipped; }
const shifted = haveFaketime && clockShifts.length ? ` (${serviceFree.length} service-free files also ran with the clock ${clockShifts.join(' and ')})` : '';
console.log(`\n${files.length} files${shifted}`);
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 && files.length > 0 ? 0 : 1);
