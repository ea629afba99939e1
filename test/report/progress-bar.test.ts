// test-needs: network
// The download progress bar: drawn on a terminal (a pty from script(1)), absent
// from JSON logs and from pipes.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createHostFixture, tideBin } from '../helpers/host-fixture.js';

const test = suite('progress bar');

function onTerminal(configPath: string, args: string): { status: number | null; output: string } {
  const run = spawnSync('script', ['-qec', `${process.execPath} ${tideBin} --config ${configPath} ${args}`, '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, output: run.stdout };
}

test('a terminal shows a bar for the download; JSON logs and pipes do not', async () => {
  const host = await createHostFixture();
  try {
    // Random bytes do not compress: the bundle is about 200 KB.
    await host.publish('1.0.0', 'good', { extraFiles: { 'web/blob.txt': randomBytes(150_000).toString('base64') } });
    const tty = onTerminal(host.configPath, 'update');
    assert.is(tty.status, 0, tty.output);
    assert.match(tty.output, /releases\/1\.0\.0\/demo-1\.0\.0\.tar\.gz \[█+\] 100% (\d+)\/\1 bytes/);
    // The cursor is hidden while drawing and shown again.
    assert.ok(tty.output.includes('\u001b[?25l') && tty.output.includes('\u001b[?25h'));

    await host.publish('1.1.0', 'good', { extraFiles: { 'web/blob.txt': randomBytes(150_000).toString('base64') } });
    const json = onTerminal(host.configPath, '--log-format json update');
    assert.is(json.status, 0, json.output);
    assert.not.match(json.output, /█|\u001b\[\?25l/);
    for (const line of json.output.split(/\r?\n/).filter((l) => l.startsWith('{'))) JSON.parse(line);

    await host.publish('1.2.0', 'good', { extraFiles: { 'web/blob.txt': randomBytes(150_000).toString('base64') } });
    const piped = await host.tide(['update']);
    assert.is(piped.code, 0, piped.stderr);
    assert.not.match(piped.stderr + piped.stdout, /█|\u001b\[/);
  } finally {
    await host.cleanup();
  }
});

test.run();
