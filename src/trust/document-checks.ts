// Pure checks of verified documents against what this host expects: app, channel,
// expiry, sequence, and the exact manifest bytes a pointer names.
import { createHash } from 'node:crypto';
import { TideError, type ErrorPlace } from '../errors.js';
import type { ChannelPointer, ReleaseManifest, Revocations } from '../documents/schemas.js';
import type { AcceptedPointer } from './accepted-facts.js';

export interface PointerExpectations {
  app: string;
  channel: string;
  now: Date;
  /** SPEC formats.md#sequence-and-expiry: what this host accepted for the channel before. */
  accepted: AcceptedPointer | undefined;
}

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
export const shortSha = (sha256: string): string => sha256.slice(0, 12);

export function checkChannelPointer(pointer: ChannelPointer, bytes: Uint8Array, expect: PointerExpectations, where: ErrorPlace): void {
  if (pointer.app !== expect.app) {
    throw new TideError('wrong-app', `channel pointer is for app ${JSON.stringify(pointer.app)}, this host runs ${JSON.stringify(expect.app)}`, where);
  }
  if (pointer.channel !== expect.channel) {
    throw new TideError('wrong-channel', `channel pointer is for channel ${JSON.stringify(pointer.channel)}, expected ${JSON.stringify(expect.channel)}`, where);
  }
  // SPEC formats.md#sequence-and-expiry: a host refuses an expired pointer (freeze attack).
  if (Date.parse(pointer.expires) <= expect.now.getTime()) {
    throw new TideError('expired', `channel pointer expired at ${pointer.expires}`, where);
  }
  const accepted = expect.accepted;
  if (accepted === undefined) return;
  // SPEC formats.md#sequence-and-expiry: refuse a lower sequence (rollback/freeze by a mirror).
  if (pointer.sequence < accepted.sequence) {
    throw new TideError('sequence', `channel pointer has sequence ${pointer.sequence}, this host already accepted ${accepted.sequence}`, where);
  }
  // SPEC trust.md#equivocation: sequences strictly increase, so one sequence names one pointer.
  const sha256 = sha256Hex(bytes);
  if (pointer.sequence === accepted.sequence && accepted.sha256 !== null && sha256 !== accepted.sha256) {
    throw new TideError(
      'equivocation',
      `channel pointer has sequence ${pointer.sequence}, which this host already accepted with other bytes (sha256 ${shortSha(accepted.sha256)}…, now ${shortSha(sha256)}…, version ${pointer.version}): equivocation`,
      where,
    );
  }
}

/** The manifest bytes must be exactly those the signed pointer names (its `manifest`, or its `fallback.manifest`). */
export function checkManifestBytes(bytes: Uint8Array, pin: ChannelPointer['manifest'], where: ErrorPlace): void {
  if (bytes.byteLength !== pin.size) {
    throw new TideError('size', `manifest is ${bytes.byteLength} bytes, the channel pointer says ${pin.size}`, where);
  }
  const digest = sha256Hex(bytes);
  if (digest !== pin.sha256) {
    throw new TideError('hash', `manifest sha256 is ${digest}, the channel pointer says ${pin.sha256}`, where);
  }
}

export function checkManifest(manifest: ReleaseManifest, expect: { app: string; version: string }, where: ErrorPlace): void {
  if (manifest.app !== expect.app) {
    throw new TideError('wrong-app', `manifest is for app ${JSON.stringify(manifest.app)}, expected ${JSON.stringify(expect.app)}`, where);
  }
  if (manifest.version !== expect.version) {
    throw new TideError('schema', `manifest is for version ${manifest.version}, expected ${expect.version}`, where);
  }
}

export function checkRevocations(revocations: Revocations, expect: { app: string; now: Date; acceptedSequence: number | null }, where: ErrorPlace): void {
  if (revocations.app !== expect.app) {
    throw new TideError('wrong-app', `revocations are for app ${JSON.stringify(revocations.app)}, expected ${JSON.stringify(expect.app)}`, where);
  }
  if (Date.parse(revocations.expires) <= expect.now.getTime()) {
    throw new TideError('expired', `revocations expired at ${revocations.expires}`, where);
  }
  if (expect.acceptedSequence !== null && revocations.sequence < expect.acceptedSequence) {
    throw new TideError('sequence', `revocations have sequence ${revocations.sequence}, this host already accepted ${expect.acceptedSequence}`, where);
  }
}
