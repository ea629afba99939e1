// test-needs: network
// `tide release rollout --prometheus URL` against a real Prometheus (Debian's package) scraping
// three real node_exporters (--collector.textfile), one per lab host, each reading the textfile
// tide writes (src/report/metrics.ts). The rollout advances while the hosts run the new
// version and halts when one of them lists it as bad.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from '../../scripts/lib/free-port.js';
import { renderMetrics, type MetricsSnapshot } from '../../src/report/metrics.js';
import { withLab } from './rollout-lab.js';

const test = suite('rollout from Prometheus');
const minute = 60_000;

interface Service { child: ChildProcess; port: number; log: () => string }

async function start(argv: string[], port: number): Promise<Service> {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  return { child, port, log: () => log };
}

async function stop(service: Service | undefined): Promise<void> {
  if (!service || service.child.exitCode !== null) return;
  const exited = new Promise((resolve) => service.child.once('exit', resolve));
  service.child.kill('SIGTERM');
  await Promise.race([exited, delay(5000)]);
  if (service.child.exitCode === null) service.child.kill('SIGKILL');
}

async function query(prometheus: number, promql: string): Promise<number> {
  const url = `http://127.0.0.1:${prometheus}/api/v1/query?query=${encodeURIComponent(promql)}`;
  try {
    const body = await (await fetch(url)).json() as { data?: { result?: { value: [number, string] }[] } };
    return (body.data?.result ?? []).reduce((sum, r) => sum + Number(r.value[1]), 0);
  } catch {
    return -1;
  }
}

/** Poll (bounded) until Prometheus answers `want` to `promql`. */
async function until(prometheus: number, promql: string, want: number, services: Service[]): Promise<void> {
  for (let i = 0; i < 150; i++) {
    if ((await query(prometheus, promql)) === want) return;
    await delay(200);
  }
  assert.unreachable(`Prometheus never answered ${want} to ${promql}; logs:\n${services.map((s) => s.log().slice(-2000)).join('\n---\n')}`);
}

const snapshot = (current: string, bad: string[], lastResult: string): MetricsSnapshot => ({
  app: 'demo', current, lastCheck: null, lastSuccess: null, lastResult, updates: 1, rollbacks: bad.length, pending: false, bad: bad.length, badVersions: bad, failedProbes: 0,
});

test('advances while the hosts run the new version, halts when one lists it as bad', () => withLab(async (lab) => {
  const services: Service[] = [];
  try {
    const dirs = ['a', 'b', 'c'].map((h) => join(lab.dir, 'textfile', h));
    const write = (i: number, s: MetricsSnapshot) => writeFileSync(join(dirs[i]!, 'tide-demo.prom'), renderMetrics(s));
    for (const dir of dirs) mkdirSync(dir, { recursive: true });
    write(0, snapshot('1.1.0', [], 'committed'));
    write(1, snapshot('1.1.0', [], 'committed'));
    write(2, snapshot('1.0.0', [], 'up-to-date'));
    const exporterPorts: number[] = [];
    for (const dir of dirs) {
      const port = await freePort();
      exporterPorts.push(port);
      services.push(await start(['prometheus-node-exporter', `--web.listen-address=127.0.0.1:${port}`, '--collector.disable-defaults',
        '--collector.textfile', `--collector.textfile.directory=${dir}`], port));
    }
    const promPort = await freePort();
    const config = join(lab.dir, 'prometheus.yml');
    writeFileSync(config, `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: hosts\n    static_configs:\n      - targets: [${exporterPorts.map((p) => `"127.0.0.1:${p}"`).join(', ')}]\n`);
    services.push(await start(['prometheus', `--config.file=${config}`, `--storage.tsdb.path=${join(lab.dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${promPort}`], promPort));
    const url = `http://127.0.0.1:${promPort}`;
    await until(promPort, 'count(tide_current_version_info{version="1.1.0"})', 2, services);

    const advanced = lab.rollout(61 * minute, '--prometheus', url, '--min-results', '2');
    assert.is(advanced.code, 0, advanced.stdout + advanced.stderr);
    assert.match(advanced.stdout, /advance: 1\.1\.0 at 1% is healthy \(2 commit\(s\), 0 rollback\(s\), success 1\).*next step 10%/);
    assert.is((await lab.pointer()).rollout?.percent, 10);

    // Host c tries 1.1.0, rolls back, and says so in its textfile.
    write(2, snapshot('1.0.0', ['1.1.0'], 'rolled-back'));
    await until(promPort, 'count(tide_bad_version_info{version="1.1.0"})', 1, services);
    const halted = lab.rollout(62 * minute, '--prometheus', url);
    assert.is(halted.code, 5, halted.stdout + halted.stderr);
    assert.match(halted.stdout, /halt: 1\.1\.0 at 10% is unhealthy: rollbacks>0 \(rollbacks = 1\), success<0\.99 \(success = 0\.6667\); pointing the channel at the fallback 1\.0\.0/);
    assert.equal([(await lab.pointer()).version, (await lab.pointer()).rollout], ['1.0.0', undefined]);

  } finally {
    for (const service of services.reverse()) await stop(service);
  }
}));

test('Prometheus not answering: exit 4, the pointer untouched', () => withLab(async (lab) => {
  const before = lab.pointerBytes();
  const closed = `http://127.0.0.1:${await freePort()}`;
  const unreachable = lab.rollout(61 * minute, '--prometheus', closed);
  assert.is(unreachable.code, 4, unreachable.stdout + unreachable.stderr);
  assert.match(unreachable.stderr, /tide: unreachable: Prometheus query count\(tide_current_version_info.* failed/);
  assert.ok(lab.pointerBytes().equals(before));
}));

test.run();
