// The trust a host starts a run with (src/plan/host-trust.ts): root 1 from the config,
// the roots stored in <state_dir>/roots verified again from it, state.json's facts. Real
// files in a temp dir, no service.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load-config.js';
import { openHostTrust } from '../../src/plan/host-trust.js';
import { layoutFor } from '../../src/store/layout.js';
import { storeRoot } from '../../src/store/stored-roots.js';
import { emptyHostState, readHostState, recordFacts, rememberedFacts, writeHostState } from '../../src/store/host-state.js';
import type { LogEvent } from '../../src/log/logger.js';
import { tempDir } from '../helpers/tmp.js';
import { nextRoot, now, rootOf, testKeys } from '../trust/trust-fixtures.js';
import type { TestKey } from '../helpers/keys.js';

function hostIn(dir: string, key: TestKey) {
  writeFileSync(join(dir, 'a.pub.asc'), key.publicArmored);
  const toml = `app = "demo"\nstate_dir = ${JSON.stringify(join(dir, 'state'))}\nmirrors = ["file:///nowhere"]\nkeys = ["a.pub.asc"]\n\n[health]\nprobes = "none"\n`;
  const config = parseConfig(toml, join(dir, 'tide.toml'));
  const warnings: string[] = [];
  const logger = { log: (level: string, event: LogEvent) => { if (level === 'warn') warnings.push(event.message); } };
  return { config, layout: layoutFor(config.state_dir), logger, now, warnings };
}

test('stored roots are trusted again from the config root; a damaged one is set aside', async () => {
  const tmp = tempDir();
  try {
    const [a, b, c] = await testKeys();
    const host = hostIn(tmp.path, a!);
    const root2 = await nextRoot(rootOf([a!]), [b!], 1, [a!, b!]);
    const root3 = await nextRoot(root2, [c!], 1, [b!, c!]);
    storeRoot(host.layout, root2);
    storeRoot(host.layout, root3);
    assert.is((await openHostTrust(host, 'stable')).store.trustedRoot.version, 3);
    // A flipped byte in root 3: trusted up to root 2, root 3 moved aside to be fetched again.
    const file = join(host.layout.roots, 'root.3.json');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"version": 3', '"version": 4'));
    const trust = await openHostTrust(host, 'stable');
    assert.is(trust.store.trustedRoot.version, 2);
    assert.match(host.warnings[0]!, /stored root 3 set aside/);
    assert.equal(readdirSync(host.layout.roots).filter((n) => !n.includes('broken')).sort(), ['root.2.json', 'root.2.json.asc']);
  } finally {
    tmp.cleanup();
  }
});

test('roots that do not chain to the config\'s keys (the config changed) are not trusted', async () => {
  const tmp = tempDir();
  try {
    const [a, b, , d] = await testKeys();
    const host = hostIn(tmp.path, d!);
    storeRoot(host.layout, await nextRoot(rootOf([a!]), [b!], 1, [a!, b!]));
    const trust = await openHostTrust(host, 'stable');
    assert.equal([trust.store.trustedRoot.version, trust.store.trustedRoot.keys.map((k) => k.fingerprint)], [1, [d!.fingerprint]]);
    assert.match(host.warnings[0]!, /stored root 2 set aside \(root 2 must be signed by 1 key\(s\) of root 1/);
  } finally {
    tmp.cleanup();
  }
});

test('state.json: sequences alone (an older tide) are read as accepted pointers without a digest', async () => {
  const tmp = tempDir();
  try {
    const [a] = await testKeys();
    const host = hostIn(tmp.path, a!);
    mkdirSync(host.layout.stateDir);
    writeHostState(host.layout, { ...emptyHostState(), sequences: { stable: 4 } });
    assert.equal(rememberedFacts(readHostState(host.layout)).accepted, { stable: { sequence: 4, sha256: null, root: 1 } });
    // Written back: both fields, and an older tide reading `sequences` sees the same number.
    const state = readHostState(host.layout);
    recordFacts(state, { accepted: { stable: { sequence: 6, sha256: 'a'.repeat(64), root: 2 } }, revocations: state.revocations });
    writeHostState(host.layout, state);
    const raw = JSON.parse(readFileSync(host.layout.state, 'utf8'));
    assert.equal([raw.sequences, raw.acceptedPointers.stable.sha256], [{ stable: 6 }, 'a'.repeat(64)]);
    // A newer sequence written by an older tide since wins, without a digest; a damaged entry is dropped.
    writeFileSync(host.layout.state, JSON.stringify({ ...raw, sequences: { stable: 9 }, acceptedPointers: { stable: raw.acceptedPointers.stable, beta: { sequence: 'x' } } }));
    assert.equal(rememberedFacts(readHostState(host.layout)).accepted, { stable: { sequence: 9, sha256: null, root: 2 } });
  } finally {
    tmp.cleanup();
  }
});

test.run();
