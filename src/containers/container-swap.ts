// SPEC containers.md#swap: containers swap with the release. At the swap, every container
// whose image repository has an artifact in the release is recreated with the
// release's tag; the old one is stopped and kept aside (NAME.tide-prev) so a rollback
// only renames it back. Commit removes what was kept aside; recover and boot
// recreate what is missing or stopped, and adopt what already runs as configured.
import { TideError, isTideError } from '../errors.js';
import type { ContainerSpec } from '../config/schema.js';
import type { ContainerSwap } from '../machine/context.js';
import type { ContainerState } from '../system/podman.js';
import { readVersionLink } from '../store/version-links.js';
import { asideNameOf, choosePlacement, runArgsFor, wantedRef, type Mode } from './container-plan.js';
import { readKeptManifest, reloadKeptImage, type ImageStageDeps } from './image-artifacts.js';
import { pruneImages } from './prune-images.js';

export interface ContainerSwapDeps extends ImageStageDeps {
  app: string;
  containers: readonly ContainerSpec[];
  /** SPEC config.md#top-level-keys: `keep`, old versions (and their images) kept beyond current and previous. */
  keep: number;
  /** True while a transaction rolls back: the version being left is removed, not kept aside. */
  rollingBack: () => boolean;
}

export function createContainerSwap(deps: ContainerSwapDeps): Required<ContainerSwap> {
  return {
    switchTo: (version) => placeAll(deps, version, deps.rollingBack() ? 'back' : 'forward'),
    async commit() {
      for (const spec of deps.containers) await deps.podman.remove(asideNameOf(spec.name));
      await pruneImages(deps);
    },
    async reconcile() {
      const current = readVersionLink(deps.layout.current);
      if (current !== null) await placeAll(deps, current, 'reconcile');
    },
  };
}

/** Every container is tried; on the way forward a failure is left to the health probes. */
async function placeAll(deps: ContainerSwapDeps, version: string, mode: Mode): Promise<void> {
  const manifest = readKeptManifest(deps.layout, version);
  const failures: string[] = [];
  for (const spec of deps.containers) {
    try {
      await placeContainer(deps, spec, version, wantedRef(manifest, spec, mode === 'reconcile'), mode);
    } catch (err) {
      const place = isTideError(err) && err.where.file ? ` (file ${err.where.file})` : '';
      const message = `${err instanceof Error ? err.message : String(err)}${place}`;
      failures.push(`${spec.name}: ${message}`);
      deps.logger.log('error', { event: 'containers', message: `container ${spec.name} for ${version}: ${message}`, to: version });
    }
  }
  // SPEC design.md#rollback: the rollback runs to the end; the caller records this and decides between 5 and 6.
  if (failures.length > 0 && mode !== 'forward') {
    throw new TideError('operator-needed', `containers of ${version} could not be put in place: ${failures.join('; ')}`);
  }
}

async function placeContainer(deps: ContainerSwapDeps, spec: ContainerSpec, version: string, ref: string | null, mode: Mode): Promise<void> {
  const { podman, logger } = deps;
  const current = await podman.inspectContainer(spec.name);
  const aside = await podman.inspectContainer(asideNameOf(spec.name));
  switch (choosePlacement(current, aside, ref, mode)) {
    case 'adopt':
      logger.log('debug', { event: 'containers', message: `${spec.name} already runs ${current!.imageRef}`, to: version });
      break;
    case 'leave':
      break;
    case 'restore-aside':
      await restoreAside(deps, spec, version, ref, current);
      break;
    case 'unknown-image':
      throw new TideError('operator-needed', `no image is known for it: ${spec.image} has no tag and ${version} has no image artifact for it`);
    case 'recreate':
      if (current) await moveOutOfTheWay(deps, spec, current, ref!, mode, aside !== null);
      await recreate(deps, spec, version, ref!);
      break;
  }
  // Outside a transaction, or at the end of its rollback, nothing waits aside.
  if (mode !== 'forward') await podman.remove(asideNameOf(spec.name));
}

/** Rollback: the container kept aside takes its name back and starts again. */
async function restoreAside(deps: ContainerSwapDeps, spec: ContainerSpec, version: string, ref: string | null, current: ContainerState | null): Promise<void> {
  const { podman, logger } = deps;
  if (current) await podman.remove(spec.name);
  await podman.rename(asideNameOf(spec.name), spec.name);
  try {
    await podman.start(spec.name);
    logger.log('info', { event: 'containers', message: `${spec.name}: restarted the container kept aside${ref ? ` (${ref})` : ''}`, to: version });
  } catch (err) {
    if (ref === null) throw err;
    logger.log('warn', { event: 'containers', message: `${spec.name}: the container kept aside did not start (${(err as Error).message}); recreating it`, to: version });
    await podman.remove(spec.name);
    await recreate(deps, spec, version, ref);
  }
}

/** Forward: the old container is stopped and kept aside. Otherwise it goes. */
async function moveOutOfTheWay(deps: ContainerSwapDeps, spec: ContainerSpec, current: ContainerState, ref: string, mode: Mode, asideTaken: boolean): Promise<void> {
  const { podman, logger } = deps;
  if (mode !== 'forward' || current.imageRef === ref) {
    await podman.remove(spec.name);
    return;
  }
  // A container still aside from an earlier, unfinished swap is older than this one.
  if (asideTaken) await podman.remove(asideNameOf(spec.name));
  await podman.stop(spec.name);
  await podman.rename(spec.name, asideNameOf(spec.name));
  logger.log('info', { event: 'containers', message: `${spec.name}: stopped ${current.imageRef}, kept aside as ${asideNameOf(spec.name)} until commit` });
}

async function recreate(deps: ContainerSwapDeps, spec: ContainerSpec, version: string, ref: string): Promise<void> {
  if ((await deps.podman.imageId(ref)) === null) await reloadKeptImage(deps, version, ref);
  await deps.podman.run(runArgsFor(spec, ref, deps.app, version));
  deps.logger.log('info', { event: 'containers', message: `${spec.name}: started ${ref}`, to: version });
}
