// Pure checks of verified documents against what this host expects.
import { createHash } from 'node:crypto';
import { TideError, type ErrorPlace } from '../errors.js';
import type { ChannelPointer, ReleaseManifest, Revocations } from '../documents/schemas.js';

export interface PointerExpectations {
  app: string;
  channel: string;
  now: Date;
  /** SPEC formats.md#sequence-and-expiry: the highest sequence this host accepted for the channel. */
  acceptedSequence: number | undefined;
}

export function checkChannelPointer(pointer: ChannelPointer, expect: PointerExpectations, where: ErrorPlace): void {
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
  // SPEC formats.md#sequence-and-expiry: refuse a lower sequence (rollback/freeze by a mirror).
  if (expect.acceptedSequence !== undefined && pointer.sequence < expect.acceptedSequence) {
    throw new TideError('sequence', `channel pointer has sequence ${pointer.sequence}, this host already accepted ${expect.acceptedSequence}`, where);
  }
}

/** The manifest bytes must be exactly those the signed pointer names. */
export function checkManifestBytes(bytes: Uint8Array, pointer: ChannelPointer, where: ErrorPlace): void {
  if (bytes.byteLength !== pointer.manifest.size) {
    throw new TideError('size', `manifest is ${bytes.byteLength} bytes, the channel pointer says ${pointer.manifest.size}`, where);
  }
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (digest !== pointer.manifest.sha256) {
    throw new TideError('hash', `manifest sha256 is ${digest}, the channel pointer says ${pointer.manifest.sha256}`, where);
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

export function checkRevocations(revocations: Revocations, expect: { app: string; now: Date; acceptedSequence: number | undefined }, where: ErrorPlace): void {
  if (revocations.app !== expect.app) {
    throw new TideError('wrong-app', `revocations are for app ${JSON.stringify(revocations.app)}, expected ${JSON.stringify(expect.app)}`, where);
  }
  if (Date.parse(revocations.expires) <= expect.now.getTime()) {
    throw new TideError('expired', `revocations expired at ${revocations.expires}`, where);
  }
  if (expect.acceptedSequence !== undefined && revocations.sequence < expect.acceptedSequence) {
    throw new TideError('sequence', `revocations have sequence ${revocations.sequence}, this host already accepted ${expect.acceptedSequence}`, where);
  }
}
