// A periodic `tide update` when nothing changed, against two http mirrors (nginx on
// 127.0.0.1, both serving the host fixture's mirror tree): requests and bytes per
// mirror from nginx's access log ($request_length + $bytes_sent), and the time.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostFixture } from '../../test/helpers/host-fixture.js';
import { expectCode, runTide } from './run-tide.js';
import { startBenchNginx, type LoggedRequest } from './nginx.js';
import { ratioOf, summarize, type Figure } from './report.js';

const MIRRORS = ['a', 'b'];

/** The host's config with its mirrors replaced by the two nginx ones. */
function writeHttpConfig(host: HostFixture, base: string): string {
  const text = readFileSync(host.configPath, 'utf8');
  const mirrors = `mirrors = ${JSON.stringify(MIRRORS.map((m) => `${base}/${m}`))}`;
  const replaced = text.replace(/^mirrors = .*$/m, mirrors);
  if (replaced === text) throw new Error('the host config has no mirrors line to replace');
  const path = join(host.dir, 'tide-http-mirrors.toml');
  writeFileSync(path, replaced);
  return path;
}

function perMirror(requests: LoggedRequest[], mirror: string): { requests: number; bytes: number } {
  const mine = requests.filter((r) => r.request.split(' ')[1]?.startsWith(`/${mirror}/`));
  return { requests: mine.length, bytes: mine.reduce((sum, r) => sum + r.requestBytes + r.sentBytes, 0) };
}

export async function benchNoop(host: HostFixture, options: { noopRuns: number; log: (line: string) => void }): Promise<Figure[]> {
  const root = join(host.dir, 'bench-www');
  mkdirSync(root);
  for (const mirror of MIRRORS) symlinkSync(host.mirrorDir, join(root, mirror));
  const nginx = await startBenchNginx(root);
  try {
    const configPath = writeHttpConfig(host, nginx.url);
    // The first check from these mirrors learns their validators (ETag, Last-Modified), which
    // tide keeps only for a pointer at least 2 s old (http-mirror-client.ts, lastingValidators).
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    expectCode(await runTide(configPath, ['update']), 0, 'first check against the http mirrors');
    nginx.takeRequests();
    const requests: number[] = [];
    const bytes: number[] = [];
    const times: number[] = [];
    const curlTimes: number[] = [];
    const curlBytes: number[] = [];
    for (let run = 0; run < options.noopRuns; run++) {
      const update = await runTide(configPath, ['update']);
      expectCode(update, 0, 'no-op update');
      const logged = nginx.takeRequests();
      for (const mirror of MIRRORS) {
        const seen = perMirror(logged, mirror);
        requests.push(seen.requests);
        bytes.push(seen.bytes);
      }
      times.push(update.ms);
      const started = performance.now();
      const curl = spawnSync('curl', ['-sf', '-o', '/dev/null', `${nginx.url}/a/channels/stable.json`]);
      curlTimes.push(performance.now() - started);
      if (curl.status !== 0) throw new Error('curl of the channel pointer failed');
      curlBytes.push(perMirror(nginx.takeRequests(), 'a').bytes);
    }
    const tideRequests = summarize(requests);
    const tideBytes = summarize(bytes);
    const tideTime = summarize(times);
    const curlTime = summarize(curlTimes);
    const one = summarize(curlBytes.map(() => 1));
    return [
      { name: 'no-op `tide update`: requests per mirror', unit: 'requests', tide: tideRequests, baseline: { label: 'curl of the pointer', ...one }, ratio: ratioOf(tideRequests, one), target: '1 request', met: tideRequests.max <= 1 },
      { name: 'no-op `tide update`: bytes per mirror (sent + received)', unit: 'bytes', tide: tideBytes, baseline: { label: 'curl of the pointer', ...summarize(curlBytes) }, ratio: ratioOf(tideBytes, summarize(curlBytes)), target: '< 1 KB', met: tideBytes.max < 1024 },
      { name: 'no-op `tide update`: time (two mirrors, whole process)', unit: 'ms', tide: tideTime, baseline: { label: 'curl of the pointer', ...curlTime }, ratio: ratioOf(tideTime, curlTime), target: '(for reference)', met: true },
    ];
  } finally {
    await nginx.stop();
  }
}
