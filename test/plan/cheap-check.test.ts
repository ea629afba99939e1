// test-needs: nginx, network
// Cheap checks at fleet scale, proven against real nginx mirrors (ETag, 304) with
// the real tide binary: a check where nothing changed costs each mirror one
// conditional request under 1 KB, and a 304 never bypasses verification or expiry.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { createHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { startNginx, type RunningNginx } from '../../scripts/lib/nginx.js';
import { tempDir } from '../helpers/tmp.js';

const test = suite('cheap checks');

interface Request { method: string; path: string; status: number; bytes: number }

interface CountedMirror {
  nginx: RunningNginx;
  /** Requests logged since the last take(), each with request + response bytes on the wire. */
  take(): Request[];
}

/** nginx serving the fixture's mirror tree, logging every request with its bytes both ways. */
async function countedMirror(host: HostFixture, logDir: string, name: string): Promise<CountedMirror> {
  const log = join(logDir, `${name}.log`);
  writeFileSync(log, '');
  const nginx = await startNginx({
    root: host.mirrorDir,
    extraHttpConfig: `log_format counted '$request_method $uri $status $request_length $bytes_sent';`,
    extraServerConfig: `access_log ${log} counted;`,
  });
  let seen = 0;
  return {
    nginx,
    take() {
      const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean);
      const fresh = lines.slice(seen);
      seen = lines.length;
      return fresh.map((line) => {
        const [method, path, status, requestBytes, sentBytes] = line.split(' ');
        return { method: method!, path: path!, status: Number(status), bytes: Number(requestBytes) + Number(sentBytes) };
      });
    },
  };
}

function useMirrors(host: HostFixture, urls: string[]): void {
  const config = readFileSync(host.configPath, 'utf8').replace(/^mirrors = .*$/m, `mirrors = ${JSON.stringify(urls)}`);
  writeFileSync(host.configPath, config);
}

const summary = (requests: Request[]) => `${requests.length} request(s), ${requests.reduce((n, r) => n + r.bytes, 0)} bytes: ${requests.map((r) => `${r.path} ${r.status}`).join(', ')}`;

/**
 * A file is only as old as its mtime: validators given within 2 s of it are not kept
 * (http-mirror-client.ts, lastingValidators), so a cheap check needs a pointer older than that.
 */
const settled = () => delay(2_100);

test('a no-op check costs each nginx mirror one conditional request under 1 KB', async () => {
  const host = await createHostFixture();
  const logs = tempDir('tide-counted-');
  const mirrors: CountedMirror[] = [];
  try {
    mirrors.push(await countedMirror(host, logs.path, 'a'), await countedMirror(host, logs.path, 'b'));
    useMirrors(host, mirrors.map((m) => m.nginx.url));
    await host.publish('1.0.0');
    await settled();
    const cold = await host.tide(['check']);
    assert.is(cold.code, 100, cold.stderr);
    const coldRequests = mirrors.map((m) => m.take());
    const install = await host.tide(['update']);
    assert.is(install.code, 0, install.stderr);
    for (const m of mirrors) m.take();

    const noop = await host.tide(['check']);
    assert.is(noop.code, 0, noop.stderr);
    const perMirror = mirrors.map((m) => m.take());
    for (const requests of perMirror) {
      assert.is(requests.length, 1, summary(requests));
      assert.equal([requests[0]!.path, requests[0]!.status], ['/channels/stable.json', 304]);
      assert.ok(requests[0]!.bytes < 1024, summary(requests));
    }
    // The benchmark line docs/fleet.md quotes.
    console.log(`  cold check, per mirror: ${coldRequests.map(summary).join(' | ')}`);
    console.log(`  no-op check, per mirror: ${perMirror.map(summary).join(' | ')}`);

    // A new release: the pointer changed, so its signature and the revocations are asked for.
    await host.publish('1.1.0');
    await settled();
    const changed = await host.tide(['check']);
    assert.is(changed.code, 100, changed.stderr);
    const paths = mirrors.flatMap((m) => m.take().map((r) => `${r.path} ${r.status}`));
    for (const wanted of ['/channels/stable.json 200', '/channels/stable.json.asc 200', '/revocations.json 404']) {
      assert.ok(paths.includes(wanted), `${wanted} in ${paths.join(', ')}`);
    }
    assert.is(paths.filter((p) => p.startsWith('/releases/1.1.0/manifest.json ')).length, 1, 'the new manifest from one mirror');
    // And once that is known, the next check is a no-op again.
    assert.is((await host.tide(['check'])).code, 100);
    for (const m of mirrors) assert.equal(m.take().map((r) => `${r.path} ${r.status}`), ['/channels/stable.json 304']);
  } finally {
    for (const m of mirrors) await m.nginx.stop();
    await host.cleanup();
    logs.cleanup();
  }
});

test('a 304 for a cached pointer that has expired since is refused (exit 3)', async () => {
  const host = await createHostFixture();
  const logs = tempDir('tide-counted-');
  const mirrors: CountedMirror[] = [];
  try {
    mirrors.push(await countedMirror(host, logs.path, 'a'));
    useMirrors(host, [mirrors[0]!.nginx.url]);
    const expires = Date.now() + 6_000;
    await host.publish('1.0.0', 'good', { expires: new Date(expires).toISOString() });
    await settled();
    const first = await host.tide(['check']);
    assert.is(first.code, 100, first.stderr);
    mirrors[0]!.take();
    await delay(Math.max(0, expires - Date.now()) + 300);
    const frozen = await host.tide(['check']);
    assert.is(frozen.code, 3, frozen.stdout + frozen.stderr);
    assert.match(frozen.stderr, /expired/);
    assert.equal(mirrors[0]!.take().map((r) => `${r.path} ${r.status}`), ['/channels/stable.json 304'], 'the mirror said "unchanged"');
  } finally {
    for (const m of mirrors) await m.nginx.stop();
    await host.cleanup();
    logs.cleanup();
  }
});

test('a damaged cache is not trusted: the check fetches and verifies afresh', async () => {
  const host = await createHostFixture();
  const logs = tempDir('tide-counted-');
  const mirrors: CountedMirror[] = [];
  try {
    mirrors.push(await countedMirror(host, logs.path, 'a'));
    useMirrors(host, [mirrors[0]!.nginx.url]);
    await host.publish('1.0.0');
    await settled();
    const installed = await host.tide(['update']);
    assert.is(installed.code, 0, installed.stdout + installed.stderr);
    mirrors[0]!.take();
    const cache = join(host.stateDir, 'cache');
    // Flip a byte of every cached document: the sha256 names no longer match.
    for (const name of readdirSync(cache).filter((n) => !n.endsWith('.asc'))) {
      const bytes = readFileSync(join(cache, name));
      bytes[0] = bytes[0]! ^ 1;
      writeFileSync(join(cache, name), bytes);
    }
    const check = await host.tide(['check']);
    assert.is(check.code, 0, check.stderr);
    const paths = mirrors[0]!.take().map((r) => `${r.path} ${r.status}`);
    assert.ok(paths.includes('/channels/stable.json 200') && paths.includes('/channels/stable.json.asc 200'), paths.join(', '));
    // A signature kept from last time that no longer verifies: the mirror's .asc is asked for again.
    for (const name of readdirSync(cache).filter((n) => n.endsWith('.asc'))) writeFileSync(join(cache, name), 'not a signature');
    const again = await host.tide(['check']);
    assert.is(again.code, 0, again.stderr);
    assert.equal(mirrors[0]!.take().map((r) => `${r.path} ${r.status}`).sort(), [
      '/channels/stable.json 304', '/channels/stable.json.asc 200', '/releases/1.0.0/manifest.json 200', '/releases/1.0.0/manifest.json.asc 200',
    ]);
  } finally {
    for (const m of mirrors) await m.nginx.stop();
    await host.cleanup();
    logs.cleanup();
  }
});

test('revocations are asked for again after the recheck interval even when the pointer is unchanged', async () => {
  const host = await createHostFixture();
  try {
    await host.publish('1.0.0');
    await host.publish('1.1.0', 'good', { noPointer: true });
    assert.is((await host.tide(['update'])).code, 0);
    const before = host.stateJson() as unknown as { revocationsChecked: string };
    assert.type(before.revocationsChecked, 'string');
    // A revocation published without a new pointer.
    await host.revoke({ versions: ['1.1.0'] });
    const stateFile = join(host.stateDir, 'state.json');
    assert.is((await host.tide(['check'])).code, 0);
    assert.equal(host.stateJson().sequences.stable, 1);
    assert.equal((JSON.parse(readFileSync(stateFile, 'utf8')) as { revocations: { versions: string[] } }).revocations.versions, [], 'not asked yet: the pointer is unchanged');
    // Seven hours later (limits.revocationsRecheckMs is six).
    const state = JSON.parse(readFileSync(stateFile, 'utf8'));
    state.revocationsChecked = new Date(Date.now() - 7 * 3_600_000).toISOString();
    writeFileSync(stateFile, JSON.stringify(state));
    assert.is((await host.tide(['check'])).code, 0);
    assert.equal((JSON.parse(readFileSync(stateFile, 'utf8')) as { revocations: { versions: string[] } }).revocations.versions, ['1.1.0']);
  } finally {
    await host.cleanup();
  }
});

test.run();
