// The process-wide net: an error that escapes every promise chain still ends as the
// one line with its own exit code (a refusal is exit 3, not a stack trace and exit 1),
// after the registered cleanups ran. Each case is a real Node process.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';

const src = new URL('../../src/', import.meta.url).href;

/** Runs `body` in a fresh node with the net installed and a cleanup that removes `staging`. */
function escapeIn(body: string, staging: string): { code: number | null; stderr: string } {
  const script = `
    import { rmSync } from 'node:fs';
    import { installLastResort, cleanUpOnEscape } from '${src}system/last-resort.js';
    import { TideError, operatorLine } from '${src}errors.js';
    installLastResort((err) => process.stderr.write(operatorLine(err) + '\\n'));
    cleanUpOnEscape(() => rmSync(${JSON.stringify(staging)}, { recursive: true, force: true }));
    ${body}
    setTimeout(() => {}, 2000);
  `;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  return { code: run.status, stderr: run.stderr };
}

function stagingWithAFile(dir: string): string {
  const staging = join(dir, 'staging');
  mkdirSync(join(staging, '1.1.0-abcd'), { recursive: true });
  writeFileSync(join(staging, '1.1.0-abcd', 'half-written'), 'x');
  return staging;
}

test('an unhandled rejection of a refusal: its one line, exit 3, staging removed', () => {
  const tmp = tempDir();
  try {
    const staging = stagingWithAFile(tmp.path);
    const run = escapeIn(`Promise.reject(new TideError('size', 'expected at most 10 unpacked bytes, found 20', { entry: 'web/big.bin' }));`, staging);
    assert.is(run.code, 3, run.stderr);
    assert.is(run.stderr, 'tide: size: expected at most 10 unpacked bytes, found 20 (entry "web/big.bin")\n');
    assert.not.ok(existsSync(staging), 'staging removed');
  } finally {
    tmp.cleanup();
  }
});

test('an uncaught exception that is not a TideError: an internal error, exit 1, staging removed', () => {
  const tmp = tempDir();
  try {
    const staging = stagingWithAFile(tmp.path);
    const run = escapeIn(`setImmediate(() => { throw new Error('boom'); });`, staging);
    assert.is(run.code, 1, run.stderr);
    assert.is(run.stderr, 'tide: internal error: boom\n');
    assert.not.ok(existsSync(staging), 'staging removed');
  } finally {
    tmp.cleanup();
  }
});

test('a cleanup that was unregistered does not run', () => {
  const tmp = tempDir();
  try {
    const staging = stagingWithAFile(tmp.path);
    const script = `
      import { installLastResort, cleanUpOnEscape } from '${src}system/last-resort.js';
      import { rmSync } from 'node:fs';
      installLastResort(() => process.stderr.write('reported\\n'));
      const stop = cleanUpOnEscape(() => rmSync(${JSON.stringify(staging)}, { recursive: true, force: true }));
      stop();
      Promise.reject(new Error('late'));
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.is(run.status, 1);
    assert.is(run.stderr, 'reported\n');
    assert.ok(existsSync(staging), 'staging kept: nobody was staging any more');
  } finally {
    tmp.cleanup();
  }
});

test.run();
