// SPEC formats.md#mirror-tree: the release tree is a local directory laid out exactly
// like the mirror tree, where the release engineer builds, signs and promotes
// before `tide release publish` copies it to the mirrors.
import { existsSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import semver from 'semver';
import { TideError } from '../errors.js';

/** How long a pointer or revocations list stays valid unless --expires says otherwise. */
export const defaultExpiresInMs = 30 * 86_400_000;

/** The tree `--tree` defaults to: ./release-tree in the current directory. */
export const defaultReleaseTree = 'release-tree';

// SPEC formats.md#mirror-tree: the paths every mirror serves, relative to its base.
export const treePaths = {
  channel: (channel: string) => `channels/${channel}.json`,
  releaseDir: (version: string) => `releases/${version}`,
  manifest: (version: string) => `releases/${version}/manifest.json`,
  revocations: 'revocations.json',
  /** SPEC trust.md#root-documents: the root chain, keys/root.<N>.json. */
  keysDir: 'keys',
  signatureOf: (path: string) => `${path}.asc`,
} as const;

/** App and channel names: what the documents' schemas accept, and safe as file names. */
const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function checkName(what: 'app' | 'channel', name: string): string {
  if (!namePattern.test(name)) {
    throw new TideError('usage', `${what} must be letters, digits, ".", "_" or "-" (not starting with a punctuation mark), got ${JSON.stringify(name)}`);
  }
  return name;
}

/** SPEC formats.md#words: versions are semantic versions, written canonically. */
export function checkVersion(version: string): string {
  if (semver.valid(version) !== version) {
    throw new TideError('usage', `version must be a semantic version like 1.2.0 or 1.2.0-alpha.3, got ${JSON.stringify(version)}`);
  }
  return version;
}

/** Timestamps as the spec writes them: ISO 8601, UTC, whole seconds. */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export { digestFile, type FileDigest } from '../store/file-digest.js';
import type { FileDigest } from '../store/file-digest.js';

export function digestBytes(bytes: Uint8Array): FileDigest {
  return { size: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** A file's bytes, or undefined when it does not exist. */
export function readIfExists(path: string): Buffer | undefined {
  return existsSync(path) ? readFileSync(path) : undefined;
}

/** A directory mirror given as a path or a file:// URL; http(s) mirrors are not directories. */
export function mirrorDirectory(mirror: string): string {
  if (mirror.startsWith('file://')) return fileURLToPath(mirror);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(mirror)) {
    throw new TideError('usage', `publish writes to directory mirrors (a path or file:// URL), not ${JSON.stringify(mirror)}; copy a published directory to an http mirror with a tool that keeps the same order`);
  }
  return mirror;
}

export const inTree = (tree: string, relative: string): string => join(tree, relative);
