// test-needs: nginx, network
// SPEC host-layout.md#damaged-files: a damaged state.json, document cache file or lock
// holder never wedges the host. Through the real `tide` binary: each run exits as it
// would have with a good file, prints one warning line, keeps the damaged state.json
// as state.json.broken-<time>, and a replayed older pointer is still refused.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { acquireStateLock } from '../../src/machine/lock.js';
import { createHostFixture, type HostFixture, type TideRun } from '../helpers/host-fixture.js';
import { assertRefused, installFirst, quickHealth } from './refusal-checks.js';

const test = suite('damaged state files');
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const stateFile = (host: HostFixture) => join(host.stateDir, 'state.json');
const brokenStates = (host: HostFixture) => readdirSync(host.stateDir).filter((n) => n.startsWith('state.json.broken-'));
/** Warning lines, but a mirror's refusal (which a run with a good file prints too). */
const warnings = (run: TideRun) => run.stderr.split('\n').filter((line) => line.startsWith('tide: warn: ') && !line.startsWith('tide: warn: mirror '));
const current = (host: HostFixture) => readlinkSync(join(host.stateDir, 'current'));

/** The run printed exactly one warning line, and it names what was damaged and what was rebuilt. */
function assertOneWarning(run: TideRun, pattern: RegExp): string {
  const lines = warnings(run);
  assert.is(lines.length, 1, `one warning line, got:\n${run.stderr}`);
  assert.match(lines[0]!, pattern);
  return lines[0]!;
}

/** A host that installed 1.0.0 (pointer sequence 1) from `serve`. */
async function installedHost(serve: 'file' | 'http' = 'file'): Promise<HostFixture> {
  const host = await createHostFixture({ serve, health: quickHealth });
  await installFirst(host);
  return host;
}

test('a truncated state.json: warned once, kept aside, rebuilt, and the run is up to date (exit 0)', async () => {
  const host = await installedHost();
  try {
    const text = readFileSync(stateFile(host), 'utf8');
    const cut = text.slice(0, Math.floor(text.length / 2));
    writeFileSync(stateFile(host), cut);
    const run = await host.tide(['update']);
    assert.is(run.code, 0, run.stderr);
    assert.match(run.stdout, /up to date: 1\.0\.0/);
    assertOneWarning(run, /^tide: warn: state\.json is not valid JSON \(.*\); kept as state\.json\.broken-\d{8}T\d{6}\.\d{3}Z; rebuilt sequences \(stable 1; 1 verified pointer\(s\) in the cache\).*current 1\.0\.0 and previous \(none\) from the links/);
    assert.equal(brokenStates(host).map((n) => readFileSync(join(host.stateDir, n), 'utf8')), [cut]);
    assert.equal(host.stateJson().sequences, { stable: 1 });
    const again = await host.tide(['update']);
    assert.equal([again.code, warnings(again)], [0, []], 'repaired once, then quiet');
  } finally {
    await host.cleanup();
  }
});

test('hand-edited wrong types: the update proceeds, and a valid bad list survives a broken history entry', async () => {
  const host = await installedHost();
  try {
    const state = JSON.parse(readFileSync(stateFile(host), 'utf8'));
    writeFileSync(stateFile(host), JSON.stringify({ ...state, sequences: { stable: 'one' }, bad: ['1.0.5'], history: [...state.history, { to: 7 }], counters: 'many' }));
    await host.publish('1.1.0');
    const run = await host.tide(['update']);
    assert.is(run.code, 0, run.stderr);
    assert.match(run.stdout, /updated 1\.0\.0 → 1\.1\.0/);
    assertOneWarning(run, /^tide: warn: state\.json damaged field\(s\) sequences, history, counters; kept as state\.json\.broken-.*; kept intact: .*bad/);
    const after = host.stateJson();
    assert.equal(after.bad, ['1.0.5']);
    assert.equal(after.sequences, { stable: 2 });
    assert.equal(after.history.map((h) => `${h.to} ${h.result}`), ['1.0.0 committed', '1.1.0 committed']);
    assert.is(await host.serving(), 'demo 1.1.0');
  } finally {
    await host.cleanup();
  }
});

test('the salvaged bad list still makes unattended updates skip a bad version', async () => {
  const host = await installedHost();
  try {
    const state = JSON.parse(readFileSync(stateFile(host), 'utf8'));
    writeFileSync(stateFile(host), JSON.stringify({ ...state, bad: ['1.1.0'], history: [{ time: 'yesterday' }] }));
    await host.publish('1.1.0');
    const run = await host.tide(['update']);
    assert.is(run.code, 0, run.stderr);
    assert.match(run.stdout, /not updating: 1\.1\.0 failed its health check here before/);
    assertOneWarning(run, /state\.json damaged field\(s\) history/);
    assert.is(current(host), 'versions/1.0.0');
  } finally {
    await host.cleanup();
  }
});

for (const damage of ['a directory', 'empty', 'schema 2'] as const) {
  test(`a state.json that is ${damage}: set aside, rebuilt, and the update proceeds (exit 0)`, async () => {
    const host = await installedHost();
    try {
      const state = readFileSync(stateFile(host), 'utf8');
      if (damage === 'a directory') {
        // A directory where the file should be (an operator's mkdir, a botched restore).
        rmSync(stateFile(host));
        mkdirSync(stateFile(host));
        writeFileSync(join(stateFile(host), 'note'), 'x');
      } else if (damage === 'empty') {
        writeFileSync(stateFile(host), '');
      } else {
        writeFileSync(stateFile(host), JSON.stringify({ ...JSON.parse(state), schema: 2, newer: true }));
      }
      await host.publish('1.1.0');
      const run = await host.tide(['update']);
      assert.is(run.code, 0, run.stderr);
      assert.match(run.stdout, /updated 1\.0\.0 → 1\.1\.0/);
      const why = { 'a directory': /is a directory, not a file/, empty: /is empty/, 'schema 2': /has schema 2, this tide reads schema 1/ }[damage];
      assertOneWarning(run, new RegExp(`^tide: warn: state\\.json ${why.source}; kept as state\\.json\\.broken-`));
      assert.is(brokenStates(host).length, 1);
      assert.equal(host.stateJson().sequences, { stable: 2 });
    } finally {
      await host.cleanup();
    }
  });
}

/** Host on 1.1.0 (sequence 2); the mirror then serves a validly signed pointer with sequence 1 naming 1.2.0. */
async function replayHost(): Promise<HostFixture> {
  const host = await createHostFixture({ health: quickHealth });
  await host.publish('1.0.0', 'good', { noPointer: true });
  await host.publish('1.1.0', 'good', { sequence: 2 });
  assert.is((await host.tide(['update'])).code, 0);
  // 1.2.0 was once promoted with sequence 1, then the channel moved on: a mirror replays that pointer.
  await host.publish('1.2.0', 'good', { sequence: 1 });
  return host;
}

const refusedReplay = (host: HostFixture, run: TideRun) =>
  assertRefused(run, { exit: 3, code: 'sequence', message: /channel pointer has sequence 1, this host already accepted 2/, file: 'channels/stable.json', mirror: host.mirrorUrl });

test('a replayed older pointer is still refused (exit 3 sequence) after state.json was rebuilt', async () => {
  const host = await replayHost();
  try {
    writeFileSync(stateFile(host), '{"schema": 1, "sequ');
    const run = await host.tide(['update']);
    refusedReplay(host, run);
    assertOneWarning(run, /state\.json is not valid JSON .*rebuilt sequences \(stable 2;/);
    assert.is(current(host), 'versions/1.1.0');
    assert.is(await host.serving(), 'demo 1.1.0');
    assert.equal(host.stateJson().sequences, { stable: 2 });
  } finally {
    await host.cleanup();
  }
});

test('a replay refused before the damage is still refused after the rebuild', async () => {
  const host = await replayHost();
  try {
    refusedReplay(host, await host.tide(['update']));
    // The cache now holds what the mirror last served (the replay); the accepted pointer must still be there.
    writeFileSync(stateFile(host), 'garbage');
    const run = await host.tide(['update']);
    refusedReplay(host, run);
    assert.is(current(host), 'versions/1.1.0');
  } finally {
    await host.cleanup();
  }
});

test('tide check with a damaged state.json: exit 100 (an update is available), warned once', async () => {
  const host = await installedHost();
  try {
    writeFileSync(stateFile(host), '{"schema":1,"bad":[');
    await host.publish('1.1.0');
    const run = await host.tide(['check']);
    assert.is(run.code, 100, run.stderr);
    assertOneWarning(run, /state\.json is not valid JSON/);
    assert.is(brokenStates(host).length, 1);
  } finally {
    await host.cleanup();
  }
});

test('tide status on a damaged state.json shows what survived, says so, and moves nothing', async () => {
  const host = await installedHost();
  try {
    writeFileSync(stateFile(host), '{"schema":1,"bad":["1.0.9"],"history":[{"ti');
    const run = await host.tide(['status', '--json']);
    assert.is(run.code, 0, run.stderr);
    const status = JSON.parse(run.stdout);
    assert.equal([status.current, status.bad, status.damaged], ['1.0.0', ['1.0.9'], ['state.json']]);
    assert.equal(brokenStates(host), [], 'status holds no lock and changes nothing');
    const text = await host.tide(['status']);
    assert.match(text.stdout, /damaged: +state\.json \(the next run sets them aside and rebuilds them\)/);
  } finally {
    await host.cleanup();
  }
});

test('a garbage document cache file is not a hit: removed, fetched afresh, exit 0', async () => {
  const host = await installedHost('http');
  try {
    const pointer = readFileSync(join(host.mirrorDir, 'channels/stable.json'));
    const cached = join(host.stateDir, 'cache', sha256(pointer));
    writeFileSync(cached, 'garbage');
    host.mirrorServer!.requests.length = 0;
    const run = await host.tide(['update']);
    assert.is(run.code, 0, run.stderr);
    assert.match(run.stdout, /up to date: 1\.0\.0/);
    assertOneWarning(run, new RegExp(`^tide: warn: damaged document cache file\\(s\\) cache/${sha256(pointer)} .*removed, fetched afresh`));
    assert.ok(host.mirrorServer!.requests.some((path) => path.endsWith('channels/stable.json.asc')), `the signature was fetched afresh: ${host.mirrorServer!.requests.join(', ')}`);
    assert.ok(readFileSync(cached).equals(pointer), 'the cache holds the verified bytes again');
  } finally {
    await host.cleanup();
  }
});

test('a garbage lock holder file: the lock still works (exit 0), and a held lock says the holder is unknown (exit 7)', async () => {
  const host = await installedHost();
  const holder = join(host.stateDir, 'tide.lock.holder');
  try {
    writeFileSync(holder, '{"pid": ');
    const free = await host.tide(['update']);
    assert.is(free.code, 0, free.stderr);
    assert.match(free.stdout, /up to date: 1\.0\.0/);
    const release = await acquireStateLock(host.stateDir, 'test');
    try {
      writeFileSync(holder, 'garbage');
      const held = await host.tide(['update']);
      assertRefused(held, { exit: 7, code: 'locked', message: /^tide: locked: another tide process \(holder unknown: tide\.lock\.holder is damaged\) holds the lock/, file: join(host.stateDir, 'tide.lock') });
    } finally {
      await release();
    }
    assert.is(current(host), 'versions/1.0.0');
  } finally {
    await host.cleanup();
  }
});

test.run();
