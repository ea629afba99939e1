import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveOwner } from '../../src/system/owner.js';
import { tempDir } from '../helpers/tmp.js';
import { throwsWithCode } from '../helpers/assert-error.js';

test('resolves user, user:group and numeric owners; refuses unknown names', () => {
  const tmp = tempDir();
  try {
    const files = { passwd: join(tmp.path, 'passwd'), group: join(tmp.path, 'group') };
    writeFileSync(files.passwd, 'root:x:0:0::/root:/bin/sh\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\n');
    writeFileSync(files.group, 'root:x:0:\nwww-data:x:33:\nweb:x:1001:\n');
    assert.is(resolveOwner(undefined, files), undefined);
    assert.equal(resolveOwner('www-data', files), { uid: 33, gid: 33 });
    assert.equal(resolveOwner('www-data:web', files), { uid: 33, gid: 1001 });
    assert.equal(resolveOwner('1000:1000', files), { uid: 1000, gid: 1000 });
    throwsWithCode(() => resolveOwner('nobody-here', files), 'config');
    throwsWithCode(() => resolveOwner('www-data:nogroup-here', files), 'config');
  } finally {
    tmp.cleanup();
  }
});

test.run();
