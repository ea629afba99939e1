// The trust store: everything tide decides about what to trust, in one pure object.
// It is given the trusted root, what the host remembered, and one `now`; it takes
// signed documents as bytes, in the only legal order — roots, revocations, the
// channel pointer, the manifest — and answers with verified documents or a
// TideError. No I/O, no clock: the caller fetches, caches and persists.
// (After tuf-js's TrustedMetadataStore: the idea, not the code.)
import { TideError, type ErrorPlace } from '../errors.js';
import { limits } from '../limits.js';
import { rootPath } from '../documents/root-document.js';
import { parseChannelPointer, parseReleaseManifest, parseRevocations } from '../documents/parse-document.js';
import type { ChannelPointer, ReleaseManifest, Revocations } from '../documents/schemas.js';
import { applySequenceFloors, mergeRevocations, type AcceptedPointer, type AcceptedRevocations, type RememberedFacts } from './accepted-facts.js';
import { checkChannelPointer, checkManifest, checkManifestBytes, checkRevocations, sha256Hex } from './document-checks.js';
import { checkSignedSizes, verifyNextRoot } from './root-chain.js';
import type { TrustedRoot } from './trusted-root.js';
import { verifyDetached } from './verify-signatures.js';
import { pickPointer, pickRoot, type Offer } from './pick-offers.js';
import {
  channelPath, copyFacts, manifestPathOf, place, trustPhases,
  type SettledPointer, type SignedAnswer, type TrustPhase, type TrustStoreInput, type VerifiedPointer,
} from './trust-types.js';

export { channelPath, trustPhases, type SettledPointer, type SignedAnswer, type TrustPhase, type TrustStoreInput, type VerifiedPointer } from './trust-types.js';

export class TrustStore {
  readonly app: string;
  readonly channel: string;
  readonly now: Date;
  private currentPhase: TrustPhase;
  private root: TrustedRoot;
  private facts: RememberedFacts;
  /** Roots accepted in this run, and the one accepted but not stored yet. */
  private rootsThisRun = 0;
  private unstoredRoot: number | undefined;
  private offers = new Map<string, Offer<unknown>>();
  private revocationOffers: Revocations[] = [];
  private settled: SettledPointer | undefined;
  private wantedVersion: string | undefined;
  /** SPEC formats.md#rollout-fallback: the manifest wanted is the pointer's fallback. */
  private fallbackWanted = false;

  constructor(input: TrustStoreInput, phase: TrustPhase = 'roots') {
    this.app = input.app;
    this.channel = input.channel;
    this.now = input.now;
    this.root = input.root;
    this.currentPhase = phase;
    // A root loaded from disk may have been stored just before a crash: its floors apply now.
    this.facts = applySequenceFloors(copyFacts(input), input.root);
  }

  get phase(): TrustPhase {
    return this.currentPhase;
  }

  /** The newest trusted root: its keys and threshold verify everything else. */
  get trustedRoot(): TrustedRoot {
    return this.root;
  }

  /** What the host should remember now (accepted pointers per channel, revocations). */
  remembered(): RememberedFacts {
    return copyFacts(this.facts);
  }

  get revocations(): AcceptedRevocations {
    return copyFacts(this.facts).revocations;
  }

  /** The same root and revocations, for another channel's pointer (tide release status). */
  forChannel(channel: string): TrustStore {
    this.expect('pointer', 'read another channel');
    return new TrustStore({ app: this.app, channel, root: this.root, now: this.now, ...this.remembered() }, 'pointer');
  }

  private expect(phase: TrustPhase, action: string): void {
    if (this.currentPhase !== phase) {
      throw new TideError('out-of-order', `cannot ${action} in the ${this.currentPhase} phase; the order is ${trustPhases.join(', ')}`);
    }
  }

  private advance(from: TrustPhase): void {
    this.currentPhase = trustPhases[trustPhases.indexOf(from) + 1]!;
    this.offers.clear();
  }

  /** Verify one mirror's answer and keep the verdict: a later answer from the same mirror replaces it. */
  private async offer<T>(key: string, mirror: string | undefined, verify: () => Promise<T>): Promise<T> {
    try {
      const value = await verify();
      this.offers.set(key, { mirror, value });
      return value;
    } catch (err) {
      if (err instanceof TideError) this.offers.set(key, { mirror, error: err });
      throw err;
    }
  }

  private get offered(): Offer<unknown>[] {
    return [...this.offers.values()];
  }

  // --- roots -------------------------------------------------------------

  /** The root version to ask the mirrors for, or undefined once this run took its maximum. */
  nextRootVersion(): number | undefined {
    this.expect('roots', 'ask for a root');
    this.refuseUnstored();
    return this.rootsThisRun < limits.maxRootsPerRun ? this.root.version + 1 : undefined;
  }

  private refuseUnstored(): void {
    if (this.unstoredRoot !== undefined) {
      throw new TideError('out-of-order', `root ${this.unstoredRoot} was accepted but not stored yet; store it before asking for the next`);
    }
  }

  /** SPEC trust.md#how-a-host-walks-the-chain: one mirror's keys/root.<N+1>.json, verified against the trusted root. */
  async offerRoot(answer: SignedAnswer): Promise<TrustedRoot> {
    const version = this.nextRootVersion();
    const where = place(answer.mirror, rootPath(version ?? this.root.version + 1));
    if (version === undefined) throw new TideError('out-of-order', `at most ${limits.maxRootsPerRun} roots are accepted in one run`, where);
    return this.offer(answer.mirror ?? 'cache', answer.mirror, () =>
      verifyNextRoot(this.root, answer.bytes, answer.asc, { app: this.app, revokedKeys: this.facts.revocations.keys, now: this.now, where }));
  }

  /**
   * Take the root the mirrors offered. Returns it (store it, then call rootStored), or
   * undefined when there is no next root. `failures`: mirrors that could not be asked.
   */
  settleRoot(failures: readonly TideError[] = []): { root?: TrustedRoot; ignored: TideError[] } {
    this.expect('roots', 'settle a root');
    this.refuseUnstored();
    const picked = pickRoot(this.offered as Offer<TrustedRoot>[], failures, rootPath(this.root.version + 1));
    this.offers.clear();
    if (!picked.root) return { ignored: picked.ignored };
    this.root = picked.root;
    this.rootsThisRun += 1;
    this.unstoredRoot = picked.root.version;
    this.facts = applySequenceFloors(this.facts, picked.root);
    return { root: picked.root, ignored: picked.ignored };
  }

  /** The caller stored root `version` (SPEC trust.md#how-a-host-walks-the-chain: atomically, before the next is asked). */
  rootStored(version: number): void {
    if (this.unstoredRoot !== version) throw new TideError('out-of-order', `root ${version} is not the root waiting to be stored`);
    this.unstoredRoot = undefined;
  }

  /** End of the walk. SPEC trust.md#how-a-host-walks-the-chain: an expired newest root is refused. */
  finishRoots(): void {
    this.expect('roots', 'finish the roots');
    this.refuseUnstored();
    const { expires, version } = this.root;
    if (expires !== null && Date.parse(expires) <= this.now.getTime()) {
      throw new TideError('expired', `root ${version}, the newest this host trusts, expired at ${expires}; the publisher must sign root ${version + 1}`, { file: rootPath(version) });
    }
    this.advance('roots');
  }

  // --- revocations -------------------------------------------------------

  private async openSigned<T>(answer: SignedAnswer, where: ErrorPlace, what: string, parse: (bytes: Uint8Array, where: ErrorPlace) => T): Promise<{ document: T; signers: string[] }> {
    checkSignedSizes(answer.bytes, answer.asc, what, where);
    // SPEC formats.md#signatures-and-threshold: signatures are verified over the raw bytes before the JSON is parsed.
    const { signers } = await verifyDetached({
      data: answer.bytes, armoredSignature: answer.asc, keys: this.root.keys,
      threshold: this.root.threshold, revokedKeys: this.facts.revocations.keys, now: this.now, where,
    });
    return { document: parse(answer.bytes, where), signers };
  }

  /** One mirror's revocations.json; a refusal is that mirror's list ignored (the caller warns). */
  async offerRevocations(answer: SignedAnswer): Promise<Revocations> {
    this.expect('revocations', 'accept revocations');
    const where = place(answer.mirror, 'revocations.json');
    const { document } = await this.openSigned(answer, where, 'revocations', parseRevocations);
    checkRevocations(document, { app: this.app, now: this.now, acceptedSequence: this.facts.revocations.sequence }, where);
    this.revocationOffers.push(document);
    return document;
  }

  /** Merge the newest list offered (if any) into what was accepted before. */
  settleRevocations(): AcceptedRevocations {
    this.expect('revocations', 'settle the revocations');
    const newest = this.revocationOffers.reduce<Revocations | undefined>((a, b) => (!a || b.sequence > a.sequence ? b : a), undefined);
    if (newest) this.facts = { ...this.facts, revocations: mergeRevocations(this.facts.revocations, newest, this.root.version) };
    this.revocationOffers = [];
    this.advance('revocations');
    return this.revocations;
  }

  // --- channel pointer ---------------------------------------------------

  /** One mirror's channel pointer. Offered again for the same mirror, the later answer counts. */
  async offerPointer(answer: SignedAnswer): Promise<VerifiedPointer> {
    this.expect('pointer', 'accept a channel pointer');
    const where = place(answer.mirror, channelPath(this.channel));
    return this.offer(answer.mirror ?? 'cache', answer.mirror, async () => {
      const { document, signers } = await this.openSigned(answer, where, 'channel pointer', parseChannelPointer);
      checkChannelPointer(document, answer.bytes, { app: this.app, channel: this.channel, now: this.now, accepted: this.facts.accepted[this.channel] }, where);
      return { pointer: document, sha256: sha256Hex(answer.bytes), signers };
    });
  }

  /**
   * SPEC formats.md#which-pointer-wins: the valid pointer with the highest sequence wins; two
   * different ones with that sequence are both refused (equivocation). The winner is
   * remembered; a winner naming a revoked version is then refused.
   */
  settlePointer(failures: readonly TideError[] = []): SettledPointer {
    this.expect('pointer', 'settle the channel pointer');
    const path = channelPath(this.channel);
    const settled = pickPointer(this.offered as Offer<VerifiedPointer>[], failures, path);
    this.settled = settled;
    const { sequence } = settled.pointer;
    this.facts = { ...this.facts, accepted: { ...this.facts.accepted, [this.channel]: { sequence, sha256: settled.sha256, root: this.root.version } } };
    this.advance('pointer');
    this.refuseRevoked(settled.pointer.version, { mirror: settled.mirrors[0], file: path });
    return settled;
  }

  /** `tide update --version V`: no channel pointer; the manifest of V is asked for directly. */
  pinVersion(version: string): void {
    this.expect('pointer', 'pin a version');
    this.advance('pointer');
    this.wantedVersion = version;
    this.refuseRevoked(version, { file: manifestPathOf(version) });
  }

  private refuseRevoked(version: string, where: ErrorPlace): void {
    // SPEC formats.md#revocations: a host never installs a revoked version.
    if (this.facts.revocations.versions.includes(version)) throw new TideError('revoked', `version ${version} is revoked`, where);
  }

  // --- manifest ----------------------------------------------------------

  /**
   * SPEC formats.md#rollout-fallback: this host is outside the rollout and takes the pointer's
   * fallback release instead: its manifest, pinned by the same signed pointer, is the one
   * wanted. Revocations apply to it like to any release.
   */
  wantFallback(): NonNullable<ChannelPointer['fallback']> {
    this.expect('manifest', 'choose the fallback');
    const fallback = this.settled?.pointer.fallback;
    if (!fallback) throw new TideError('out-of-order', 'the channel pointer names no fallback release', { file: channelPath(this.channel) });
    this.refuseRevoked(fallback.version, { mirror: this.settled!.mirrors[0], file: channelPath(this.channel) });
    this.fallbackWanted = true;
    return fallback;
  }

  /** The version and manifest pin the settled pointer names for this host: its release, or its fallback. */
  private pinned(): { version: string; manifest: ChannelPointer['manifest'] } | undefined {
    const pointer = this.settled?.pointer;
    return pointer && (this.fallbackWanted ? pointer.fallback : pointer);
  }

  /** Which manifest to fetch, and at most how many bytes. */
  wantedManifest(): { path: string; version: string; maxBytes: number; sha256?: string } {
    this.expect('manifest', 'ask for the manifest');
    const pinned = this.pinned();
    if (pinned) {
      const pin = pinned.manifest;
      return { path: pin.path, version: pinned.version, maxBytes: Math.min(pin.size, limits.maxDocumentBytes), sha256: pin.sha256 };
    }
    return { path: manifestPathOf(this.wantedVersion!), version: this.wantedVersion!, maxBytes: limits.maxDocumentBytes };
  }

  /** The release manifest: the exact bytes the pointer names, signed, for this app and version. */
  async acceptManifest(answer: SignedAnswer): Promise<ReleaseManifest> {
    const wanted = this.wantedManifest();
    const where = place(answer.mirror, wanted.path);
    const pin = this.pinned()?.manifest;
    if (pin) checkManifestBytes(answer.bytes, pin, where);
    const { document } = await this.openSigned(answer, where, 'release manifest', parseReleaseManifest);
    checkManifest(document, { app: this.app, version: wanted.version }, where);
    this.advance('manifest');
    return document;
  }
}

export type { AcceptedPointer, AcceptedRevocations, RememberedFacts };
