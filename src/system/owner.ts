// SPEC formats.md#modes-and-owners: installed files belong to root, or to the configured owner
// ("user", "user:group", or numeric "uid:gid").
import { readFileSync } from 'node:fs';
import { TideError } from '../errors.js';

export interface Owner {
  uid: number;
  gid: number;
}

function lookup(file: string, name: string): { id: number; gid?: number } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields[0] === name && fields[2] !== undefined) return { id: Number(fields[2]), gid: fields[3] !== undefined && file.endsWith('passwd') ? Number(fields[3]) : undefined };
  }
  return undefined;
}

export function resolveOwner(spec: string | undefined, files = { passwd: '/etc/passwd', group: '/etc/group' }): Owner | undefined {
  if (spec === undefined) return undefined;
  const [user, group] = spec.split(':');
  const uid = /^\d+$/.test(user!) ? Number(user) : lookup(files.passwd, user!)?.id;
  if (uid === undefined) throw new TideError('config', `owner: no such user ${JSON.stringify(user)}`);
  let gid: number | undefined;
  if (group === undefined) gid = /^\d+$/.test(user!) ? uid : lookup(files.passwd, user!)?.gid;
  else gid = /^\d+$/.test(group) ? Number(group) : lookup(files.group, group)?.id;
  if (gid === undefined) throw new TideError('config', `owner: no such group ${JSON.stringify(group ?? user)}`);
  return { uid, gid };
}
