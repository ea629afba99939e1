// SPEC config.md#stage at recover and boot, with a fake podman and a fake stage gate
// (a unit test: the real thing runs in container-stages.test.ts): the first stage is
// retried until its probes pass; when it never does, nothing after it starts; a later
// stage that fails is named and the stages after it still start.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createContainerSwap } from '../../src/containers/container-swap.js';
import { planStages } from '../../src/containers/stage-plan.js';
import type { StageGate } from '../../src/containers/stage-gate.js';
import type { ContainerState, Podman } from '../../src/system/podman.js';
import { layoutFor } from '../../src/store/layout.js';
import { silentLogger } from '../../src/log/logger.js';
import { tempDir } from '../helpers/tmp.js';

/** podman as a map of running containers; `run` records the order. */
function fakePodman(started: string[]): Podman {
  const running = new Map<string, ContainerState>();
  const state = (name: string, image: string): ContainerState => ({ id: name, name, imageRef: image, imageId: 'x', status: 'running', running: true, exitCode: 0, startedAt: '', restartCount: 0, restartPolicy: '', hasHealthcheck: false, labels: {} });
  return {
    inspectContainer: async (name) => running.get(name) ?? null,
    imageId: async () => 'sha256:x',
    load: async () => [],
    run: async (args) => {
      const name = args[args.indexOf('--name') + 1]!;
      started.push(name);
      running.set(name, state(name, args.find((a) => a.startsWith('localhost/'))!));
    },
    start: async () => undefined, stop: async () => undefined, rename: async () => undefined,
    remove: async (name) => { running.delete(name); },
    removeImage: async () => true,
    healthcheck: async () => ({ healthy: true, detail: '' }),
    lastLogLine: async () => '',
    storageOnlyContainers: async () => [],
    deleteRuntimeContainer: async () => undefined,
    renumber: async () => undefined,
  };
}

const names = ['mcns', 'proxy', 'web'];

function host(gate: StageGate, started: string[]) {
  const tmp = tempDir();
  const layout = layoutFor(join(tmp.path, 'state'));
  mkdirSync(layout.versionDir('1.0.0'), { recursive: true });
  symlinkSync(join('versions', '1.0.0'), layout.current);
  mkdirSync(layout.artifactsDir('1.0.0'), { recursive: true });
  writeFileSync(join(layout.artifactsDir('1.0.0'), 'manifest.json'), JSON.stringify({
    schema: 1, app: 'demo', version: '1.0.0', published: '2026-12-01T00:00:00Z',
    artifacts: [{ type: 'bundle', path: 'b.tar.gz', size: 1, sha256: '0'.repeat(64) },
      ...names.map((n) => ({ type: 'image', path: `images/${n}.oci.tar`, size: 1, sha256: '0'.repeat(64), image: `localhost/${n}:1.0.0` }))],
  }));
  const probe = (id: string) => ({ type: 'tcp' as const, host: '127.0.0.1', port: 1, id });
  const stages = planStages({
    container: names.map((n) => ({ name: n, image: `localhost/${n}`, args: [], command: [] })),
    health: { probe: names.map(probe), timeout: 1_000 } as never,
    stage: names.map((n, i) => ({ name: ['foundation', 'middle', 'app'][i]!, containers: [n], probes: [n], timeout: 1_000, service: false })),
  });
  const swap = createContainerSwap({ podman: fakePodman(started), layout, logger: silentLogger, app: 'demo', stages, keep: 1, leaving: () => null, gate, healState: false, podmanArgv: ['podman'] });
  return { swap, cleanup: tmp.cleanup };
}

const verdict = (healthy: boolean, reason: string) => ({ healthy, reason, elapsedMs: 0 });

test('the first stage is retried until its probes pass; the next stages start after it', async () => {
  const started: string[] = [];
  let foundationAttempts = 0;
  const gate: StageGate = async (stage) => {
    if (stage.name !== 'foundation') return verdict(true, 'ok');
    foundationAttempts += 1;
    return foundationAttempts < 3 ? verdict(false, 'tcp 127.0.0.1:1 refused') : verdict(true, 'ok');
  };
  const h = host(gate, started);
  try {
    const report = await h.swap.reconcile({ retryFirstForMs: 10_000, gateEvery: true });
    assert.equal(report.failures, []);
    assert.is(foundationAttempts, 3);
    assert.equal(started, names);
  } finally {
    h.cleanup();
  }
});

test('a first stage that never passes within the time: named, and nothing after it starts', async () => {
  const started: string[] = [];
  const h = host(async (stage) => verdict(stage.name !== 'foundation', 'tcp 127.0.0.1:1 refused'), started);
  try {
    const report = await h.swap.reconcile({ retryFirstForMs: 1_200, gateEvery: true });
    assert.equal(report.failures, ['stage "foundation": tcp 127.0.0.1:1 refused']);
    assert.equal(started, ['mcns']);
  } finally {
    h.cleanup();
  }
});

test('a later stage that fails is named; the stages after it still start', async () => {
  const started: string[] = [];
  const h = host(async (stage) => verdict(stage.name !== 'middle', 'http answered 503'), started);
  try {
    const report = await h.swap.reconcile({ retryFirstForMs: 1_000, gateEvery: true });
    assert.equal(report.failures, ['stage "middle": http answered 503']);
    assert.equal(started, names);
  } finally {
    h.cleanup();
  }
});

test('the reconciler (no gateEvery) adopts running containers and waits only after recreating', async () => {
  const started: string[] = [];
  const gated: string[] = [];
  const h = host(async (stage) => { gated.push(stage.name); return verdict(true, 'ok'); }, started);
  try {
    await h.swap.reconcile({});
    assert.equal(started, names);
    assert.equal(gated, ['foundation', 'middle']);
    gated.length = 0;
    const again = await h.swap.reconcile({});
    assert.equal(again.actions.map((a) => a.action), ['adopted', 'adopted', 'adopted']);
    assert.equal(started, names, 'nothing recreated');
    assert.equal(gated, [], 'nothing to wait for');
  } finally {
    h.cleanup();
  }
});

test('a host with no [[container]] reconciles without running podman (it may not have podman at all)', async () => {
  const tmp = tempDir();
  try {
    const layout = layoutFor(join(tmp.path, 'state'));
    mkdirSync(layout.versionDir('1.0.0'), { recursive: true });
    symlinkSync(join('versions', '1.0.0'), layout.current);
    const noPodman = new Proxy({} as Podman, { get: (_t, call) => () => { throw new Error(`podman ${String(call)} was run`); } });
    const stages = planStages({ container: [], health: { probe: [], timeout: 1_000 } as never, stage: [] });
    const swap = createContainerSwap({ podman: noPodman, layout, logger: silentLogger, app: 'demo', stages, keep: 1, leaving: () => null, gate: async () => verdict(true, 'ok'), healState: false, podmanArgv: ['podman'] });
    const report = await swap.reconcile({ retryFirstForMs: 1_000, gateEvery: true });
    assert.equal(report, { version: '1.0.0', actions: [], failures: [] });
  } finally {
    tmp.cleanup();
  }
});

test.run();
