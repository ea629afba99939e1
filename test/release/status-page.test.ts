// test-needs: network
// `tide release status --html FILE` read by a real headless Chromium (Debian's package): a
// rollout that advanced and then halted on a rollback report shows on the page, with the
// mirrors and their lag and the fleet's results. The page is one file: no script, nothing
// fetched from anywhere. (Declared `network`: Chromium is a browser process, not run under
// the clock-shifted passes.)
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { withLab } from './rollout-lab.js';

const test = suite('status page');
const minute = 60_000;

function chromium(dir: string, ...args: string[]): string {
  const run = spawnSync('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-dev-shm-usage',
    `--user-data-dir=${join(dir, 'chromium-profile')}`, '--window-size=1280,1600', ...args], { encoding: 'utf8', timeout: 120_000 });
  assert.is(run.status, 0, `chromium ${args.join(' ')}: ${run.stderr}`);
  return run.stdout;
}

/** The text a reader sees: the DOM Chromium built, without tags. */
const textOf = (dom: string): string => dom.replace(/<style[\s\S]*?<\/style>/g, '').replace(/<[^>]+>/g, ' ').replace(/&amp;/g, '&').replace(/&gt;/g, '>').replace(/&lt;/g, '<').replace(/\s+/g, ' ');

test('a halted rollout, the mirrors with their lag and the fleet results, in one self-contained page', () => withLab(async (lab) => {
  const fresh = join(lab.dir, 'mirror-fresh');
  const stale = join(lab.dir, 'mirror-stale');
  mkdirSync(fresh);
  mkdirSync(stale);
  assert.is(lab.tide('release', 'publish', '--tree', lab.tree, fresh, stale).code, 0);
  lab.report('h1', 10 * minute, {});
  assert.is(lab.rollout(61 * minute).code, 0);
  lab.report('h2', 70 * minute, { result: 'rolled-back', exitCode: 5, current: '1.0.0', bad: ['1.1.0'], reason: 'http probe answered 500' });
  const halt = lab.rollout(71 * minute);
  assert.is(halt.code, 5, halt.stdout + halt.stderr);
  assert.is(lab.tide('release', 'publish', '--tree', lab.tree, fresh).code, 0);

  const page = join(lab.dir, 'status.html');
  const status = lab.tide('release', 'status', '--mirror', fresh, '--mirror', stale, '--key', lab.key.publicPath, '--app', 'demo',
    '--channel', 'stable', '--html', page, '--tree', lab.tree, '--reports', lab.reports, '--metrics', join(lab.dir, 'mirrors.prom'));
  assert.is(status.code, 1, status.stdout + status.stderr); // the stale mirror is behind
  assert.match(readFileSync(join(lab.dir, 'mirrors.prom'), 'utf8'), /^tide_mirror_lag_sequences\{app="demo",channel="stable",mirror="file:\/\/[^"]*mirror-stale"\} 2$/m);
  const html = readFileSync(page, 'utf8');
  // Self-contained: no script, no stylesheet or image from elsewhere.
  assert.not.match(html, /<script|<link|<img|<iframe|src=|url\(/i);

  const dom = chromium(lab.dir, '--dump-dom', pathToFileURL(page).href);
  const text = textOf(dom);
  assert.match(text, /HALTED: the rollout of 1\.1\.0 stopped at 10% on /);
  assert.match(text, /rollbacks>0 \(rollbacks = 1\)/);
  assert.match(text, /The channel names 1\.0\.0 \(sequence 4\) for every host/);
  assert.match(text, /halted 1\.0\.0 100% 4/);
  assert.match(text, /advanced 1\.1\.0 10% 3/);
  assert.match(text, /started 1\.1\.0 1% 2/);
  assert.match(text, /Mirrors NOT in sync/);
  assert.match(text, /mirror-stale stable 1\.1\.0 2 valid \S+ behind \(seq 2 < 4\) 2 seq, /);
  // Fleet results: 1.1.0 with one commit, one rollback and its reason.
  assert.match(text, /1\.1\.0 1 1 0 0 2 \S+ m-h2: http probe answered 500/);

  const shot = join(lab.dir, 'status.png');
  chromium(lab.dir, `--screenshot=${shot}`, pathToFileURL(page).href);
  const png = readFileSync(shot);
  assert.ok(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), 'a PNG');
  assert.is(png.readUInt32BE(16), 1280, 'as wide as the window');
  assert.ok(statSync(shot).size > 20_000, `a page with content, not a blank (${statSync(shot).size} bytes)`);
}));

test('--tree and --reports without --html are a usage error', () => withLab(async (lab) => {
  const run = lab.tide('release', 'status', '--mirror', lab.tree, '--key', lab.key.publicPath, '--reports', lab.reports);
  assert.is(run.code, 2, run.stderr);
  assert.match(run.stderr, /--tree and --reports go with --html FILE/);
}));

test.run();
