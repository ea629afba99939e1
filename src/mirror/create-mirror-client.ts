// The mirror client the update uses: http(s) and file:// mirrors behind one MirrorClient.
import { createHttpMirrorClient } from './http-mirror-client.js';
import { createFileMirrorClient } from './file-mirror-client.js';
import { mirrorScheme } from './mirror-path.js';
import { defaultMirrorOptions, type MirrorClient, type MirrorOptions } from './mirror-client.js';

/** One client for every mirror: each call goes to the http(s) or the file:// client by the mirror's scheme. */
export function createMirrorClient(options: Partial<MirrorOptions> = {}): MirrorClient {
  const settled = { ...defaultMirrorOptions, ...options };
  const clients = { http: createHttpMirrorClient(settled), file: createFileMirrorClient() };
  const clientFor = (mirror: string): MirrorClient => clients[mirrorScheme(mirror)];
  return {
    fetchDocument: async (mirror, path, maxBytes, conditional) =>
      clientFor(mirror).fetchDocument(mirror, path, maxBytes, conditional),
    downloadArtifact: async (mirror, path, expect, dest, onProgress) =>
      clientFor(mirror).downloadArtifact(mirror, path, expect, dest, onProgress),
    fetchObject: async (mirror, path, maxBytes) => clientFor(mirror).fetchObject!(mirror, path, maxBytes),
  };
}
