// The trust store for one run on this host: the config's root 1, the roots stored
// under <state_dir>/roots (verified again from root 1), what state.json remembers,
// and one `now`. `persist` writes back what the store accepted, whatever happened.
import type { Config } from '../config/load-config.js';
import type { Logger } from '../log/logger.js';
import type { Layout } from '../store/layout.js';
import { readHostState, recordFacts, rememberedFacts, updateHostState, type HostState } from '../store/host-state.js';
import { readStoredRoots, setRootsAside, storeRoot, storedAbove } from '../store/stored-roots.js';
import { readTrustedKeysFromConfig } from '../machine/trusted-keys-file.js';
import { loadRootChain } from '../trust/root-chain.js';
import { TrustStore } from '../trust/trust-store.js';
import type { TrustedRoot } from '../trust/trusted-root.js';

export interface HostTrust {
  store: TrustStore;
  saveRoot(root: TrustedRoot): void;
  /** Record what the store accepted (pointers, revocations, floors) in state.json, with `also` in the same write. */
  persist(also?: (state: HostState) => void): void;
}

export async function openHostTrust(host: { config: Config; layout: Layout; logger: Logger; now: Date }, channel: string): Promise<HostTrust> {
  const { config, layout, logger, now } = host;
  const keys = await readTrustedKeysFromConfig(config);
  const stored = readStoredRoots(layout);
  const chain = await loadRootChain(config.app, keys, config.threshold, stored.roots, now);
  const brokenFrom = chain.broken?.version ?? stored.unreadable[0];
  if (brokenFrom !== undefined) {
    // A damaged file, or roots that do not chain to the config's keys (the config changed): asked for again.
    const moved = setRootsAside(layout, [brokenFrom, ...storedAbove(layout, brokenFrom)], now);
    const why = chain.broken ? chain.broken.error.message : 'unreadable';
    logger.log('warn', { event: 'roots', message: `stored root ${brokenFrom} set aside (${why}); trusting root ${chain.root.version} and asking the mirrors again (${moved.length} file(s) moved)` });
  }
  const store = new TrustStore({ app: config.app, channel, root: chain.root, now, ...rememberedFacts(readHostState(layout)) });
  return {
    store,
    saveRoot: (root) => storeRoot(layout, root),
    persist: (also) => updateHostState(layout, (state) => {
      recordFacts(state, store.remembered());
      also?.(state);
    }),
  };
}
