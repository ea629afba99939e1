// SPEC trust.md#how-a-host-walks-the-chain: ask every mirror for keys/root.<N+1>.json until there is none,
// hand each answer to the trust store, and store every root it accepts before the
// next is asked for. The store decides; this only fetches and persists.
import { isTideError, TideError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { MirrorClient } from '../mirror/mirror-client.js';
import { rootPath } from '../documents/root-document.js';
import type { TrustStore } from '../trust/trust-store.js';
import type { TrustedRoot } from '../trust/trusted-root.js';
import { askEveryMirror } from './ask-mirrors.js';
import { fetchSignedIfChanged } from './fetch-signed.js';

export interface RootWalk {
  mirrors: readonly string[];
  client: MirrorClient;
  store: TrustStore;
  logger: Logger;
  /** Persist an accepted root atomically (src/store/stored-roots.ts). */
  saveRoot(root: TrustedRoot): void;
}

/** A root served without its .asc is no "there is none": it is an unsigned root, refused. */
function unsignedRoot(err: TideError, path: string): TideError {
  if (err.code !== 'not-found' || err.where.file !== `${path}.asc`) return err;
  return new TideError('signature', `${path} has no signature (${path}.asc not found)`, { mirror: err.where.mirror, file: path });
}

/** Walk the chain as far as the mirrors (and the per-run limit) go; returns the roots accepted. */
export async function walkRoots(walk: RootWalk): Promise<TrustedRoot[]> {
  const accepted: TrustedRoot[] = [];
  for (let version = walk.store.nextRootVersion(); version !== undefined; version = walk.store.nextRootVersion()) {
    const path = rootPath(version);
    // The document first: a mirror with no next root costs one request (a 404).
    const answers = await askEveryMirror(walk.mirrors, (mirror) => fetchSignedIfChanged(walk.client, undefined, mirror, path));
    const failures: TideError[] = [];
    await Promise.all(answers.map(async (answer) => {
      if ('error' in answer) return failures.push(unsignedRoot(answer.error, path));
      try {
        await walk.store.offerRoot({ mirror: answer.mirror, bytes: answer.value.bytes, asc: answer.value.asc });
      } catch (err) {
        if (!isTideError(err)) throw err;
      }
      return undefined;
    }));
    const { root, ignored } = walk.store.settleRoot(failures);
    for (const err of ignored) walk.logger.log('warn', { event: 'roots', message: `ignored ${path}: ${err.message} (mirror ${err.where.mirror})` });
    if (!root) break;
    walk.saveRoot(root);
    walk.store.rootStored(root.version);
    accepted.push(root);
    walk.logger.log('info', { event: 'roots', message: `trusting root ${root.version}: ${root.keys.length} key(s), threshold ${root.threshold}, expires ${root.expires}` });
  }
  return accepted;
}
