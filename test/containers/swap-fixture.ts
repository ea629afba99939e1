// A host's state dir for the container unit tests: versions/, current/previous links,
// and the manifests stage-release keeps beside image artifacts, plus a real isolated
// podman and the ContainerSwap wired to it.
import { mkdirSync, symlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createContainerSwap } from '../../src/containers/container-swap.js';
import { planStages } from '../../src/containers/stage-plan.js';
import type { StageGate } from '../../src/containers/stage-gate.js';
import { TideError } from '../../src/errors.js';
import { createPodman, type Podman } from '../../src/system/podman.js';
import { runProcess } from '../../src/system/process-runner.js';
import { layoutFor, type Layout } from '../../src/store/layout.js';
import { silentLogger } from '../../src/log/logger.js';
import type { ContainerSpec } from '../../src/config/schema.js';
import type { ReleaseManifest } from '../../src/documents/schemas.js';
import { isolatedPodman, type IsolatedPodman } from '../../scripts/lib/podman.js';

export interface SwapHost {
  layout: Layout;
  host: IsolatedPodman;
  podman: Podman;
  swap: Omit<ReturnType<typeof createContainerSwap>, 'switchTo' | 'reconcile'> & {
    /** What the swapping and restarting phases do together: stop, then start stage by stage; throws the stage failure. */
    switchTo(version: string): Promise<void>;
    reconcile(): Promise<void>;
  };
  /** Flip to true to call switchTo as the automatic rollback does. */
  rollingBack: { value: boolean };
  /** versions/<v>/ and the kept manifest naming `refs` as image artifacts. */
  install(version: string, refs: string[]): void;
  point(link: 'current' | 'previous', version: string | null): void;
}

export function createSwapHost(tmp: string, containers: ContainerSpec[], keep = 1): SwapHost {
  const layout = layoutFor(join(tmp, 'state'));
  const host = isolatedPodman(tmp);
  const podman = createPodman({ argv: host.argv, runner: { run: (argv, opts) => runProcess(argv, { ...opts, env: { ...host.env, ...opts?.env } }) } });
  const rollingBack = { value: false };
  // One stage, no probes: the stage tests (container-stages.test.ts) cover the gate.
  const stages = planStages({ stage: [], container: containers, health: { probe: [], timeout: 10_000 } as never });
  const gate: StageGate = async () => ({ healthy: true, reason: 'no probes', elapsedMs: 0 });
  const real = createContainerSwap({ podman, layout, logger: silentLogger, app: 'demo', stages, keep, leaving: () => (rollingBack.value ? 'leaving' : null), gate, healState: false, podmanArgv: host.argv });
  const swap = {
    ...real,
    async switchTo(version: string) {
      await real.switchTo(version);
      const failed = await real.startStages(version, async () => null);
      if (failed) throw new TideError('operator-needed', failed.reason);
    },
    async reconcile() {
      const report = await real.reconcile();
      if (report.failures.length > 0) throw new TideError('operator-needed', report.failures.join('; '));
    },
  };
  return {
    layout, host, podman, swap, rollingBack,
    install(version, refs) {
      mkdirSync(layout.versionDir(version), { recursive: true });
      const manifest: ReleaseManifest = {
        schema: 1, app: 'demo', version, published: new Date().toISOString(),
        artifacts: [
          { type: 'bundle', path: `demo-${version}.tar.gz`, size: 1, sha256: '0'.repeat(64) },
          ...refs.map((image, i) => ({ type: 'image' as const, path: `images/${i}.oci.tar`, size: 1, sha256: '0'.repeat(64), image })),
        ],
      };
      mkdirSync(layout.artifactsDir(version), { recursive: true });
      writeFileSync(join(layout.artifactsDir(version), 'manifest.json'), JSON.stringify(manifest));
    },
    point(link, version) {
      const path = link === 'current' ? layout.current : layout.previous;
      rmSync(path, { force: true });
      if (version !== null) symlinkSync(join('versions', version), path);
    },
  };
}

/** A [[container]] serving http on 127.0.0.1:port with the host's network. */
export function webSpec(name: string, image: string, port: number, extraArgs: string[] = []): ContainerSpec {
  return { name, image, args: ['--network', 'host', '--env', `PORT=${port}`, ...extraArgs], command: [] };
}
