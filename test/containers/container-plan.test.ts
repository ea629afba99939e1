// Which image each [[container]] runs, and what podman printed: pure functions.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { asideNameOf, checkImageRepositories, choosePlacement, repositoryOf, runArgsFor, wantedRef } from '../../src/containers/container-plan.js';
import { loadedRefs, parseContainerState } from '../../src/system/podman.js';
import type { ReleaseManifest } from '../../src/documents/schemas.js';
import { throwsWithCode } from '../helpers/assert-error.js';

function manifestWith(...refs: string[]): ReleaseManifest {
  return {
    schema: 1, app: 'demo', version: '1.2.0', published: '2026-11-23T10:00:00Z',
    artifacts: [
      { type: 'bundle', path: 'demo.tar.gz', size: 1, sha256: '0'.repeat(64) },
      ...refs.map((image, i) => ({ type: 'image' as const, path: `images/${i}.oci.tar`, size: 1, sha256: '0'.repeat(64), image })),
    ],
  };
}

const spec = (image: string) => ({ name: 'demo-web', image, args: ['--network', 'host'], command: ['/bin/web', '--serve'] });

test('the repository of a ref drops the tag, never a registry port', () => {
  assert.is(repositoryOf('localhost/demo-web:1.2.0'), 'localhost/demo-web');
  assert.is(repositoryOf('registry.example:5000/team/web:1.0'), 'registry.example:5000/team/web');
  assert.is(repositoryOf('registry.example:5000/team/web'), 'registry.example:5000/team/web');
});

test('a container takes the tag of the release artifact of its repository', () => {
  const manifest = manifestWith('localhost/demo-api:7', 'localhost/demo-web:1.2.0');
  assert.is(wantedRef(manifest, spec('localhost/demo-web'), false), 'localhost/demo-web:1.2.0');
  assert.is(wantedRef(manifest, spec('localhost/other'), false), null);
  assert.is(wantedRef(null, spec('localhost/demo-web'), true), null, 'no tag and no artifact: unknown');
  assert.is(wantedRef(manifest, spec('localhost/side:3'), false), null, 'a tagged image is not swapped');
  assert.is(wantedRef(manifest, spec('localhost/side:3'), true), 'localhost/side:3', 'but recovered');
});

test('refuses two artifacts of one repository', () => {
  const err = throwsWithCode(() => checkImageRepositories(manifestWith('localhost/web:1', 'localhost/api:1', 'localhost/web:2')), 'image-ref');
  assert.match(err.message, /localhost\/web:1 and localhost\/web:2/);
  checkImageRepositories(manifestWith('localhost/web:1', 'localhost/api:1'));
});

test('podman run gets the name, tide labels, the operator args, the image and the command', () => {
  assert.equal(runArgsFor(spec('localhost/demo-web'), 'localhost/demo-web:1.2.0', 'demo', '1.2.0'), [
    '--name', 'demo-web', '--label', 'io.tide.app=demo', '--label', 'io.tide.version=1.2.0',
    '--network', 'host', 'localhost/demo-web:1.2.0', '/bin/web', '--serve',
  ]);
  assert.is(asideNameOf('demo-web'), 'demo-web.tide-prev');
});

test('reads the refs podman load printed, in both of its formats', () => {
  assert.equal(loadedRefs('Loaded image: localhost/web:1\n'), ['localhost/web:1']);
  assert.equal(loadedRefs('Getting image source signatures\nLoaded image(s): localhost/a:1, localhost/b:2\n'), ['localhost/a:1', 'localhost/b:2']);
  assert.equal(loadedRefs(''), []);
});

test('reads a container from podman container inspect', () => {
  const state = parseContainerState(JSON.stringify([{
    Id: 'abc', Name: 'demo-web', ImageName: 'localhost/demo-web:1.2.0', Image: 'fff', RestartCount: 2,
    State: { Status: 'running', Running: true, ExitCode: 0, StartedAt: '2026-11-23T10:00:00Z' },
    Config: { Healthcheck: { Test: ['CMD', '/bin/check'] }, Labels: { 'io.tide.app': 'demo' } },
    HostConfig: { RestartPolicy: { Name: 'always' } },
  }]), 'demo-web');
  assert.equal(state, {
    id: 'abc', name: 'demo-web', imageRef: 'localhost/demo-web:1.2.0', imageId: 'fff', status: 'running', running: true,
    exitCode: 0, startedAt: '2026-11-23T10:00:00Z', restartCount: 2, restartPolicy: 'always', hasHealthcheck: true,
    labels: { 'io.tide.app': 'demo' },
  });
  const noCheck = parseContainerState(JSON.stringify([{ Config: { Healthcheck: { Test: ['NONE'] } } }]), 'x');
  assert.is(noCheck.hasHealthcheck, false);
  throwsWithCode(() => parseContainerState('not json', 'x'), 'operator-needed');
});

test('chooses what to do with each container, in every mode', () => {
  const up = (imageRef: string) => ({ running: true, imageRef });
  const down = (imageRef: string) => ({ running: false, imageRef });
  const [v1, v2] = ['localhost/web:1', 'localhost/web:2'];
  const table: [Parameters<typeof choosePlacement>, string][] = [
    // The swap of an update: recreate unless it already runs the release's ref.
    [[up(v1), null, v2, 'forward'], 'recreate'],
    [[up(v2), up(v1), v2, 'forward'], 'adopt'],
    [[down(v2), null, v2, 'forward'], 'recreate'],
    [[null, down(v1), v2, 'forward'], 'recreate'],
    [[up(v1), null, null, 'forward'], 'leave'],
    // The rollback: back to what waits aside, else recreate from the previous tag.
    [[up(v2), down(v1), v1, 'back'], 'restore-aside'],
    [[up(v2), null, v1, 'back'], 'recreate'],
    [[up(v2), down(v1), null, 'back'], 'restore-aside'],
    [[up(v2), null, null, 'back'], 'leave'],
    [[up(v1), down(v2), v1, 'back'], 'adopt'],
    // Recover: adopt what runs as configured; recreate the rest; never go back to what waits aside.
    [[up(v1), null, v1, 'reconcile'], 'adopt'],
    [[down(v1), null, v1, 'reconcile'], 'recreate'],
    [[null, down(v1), v1, 'reconcile'], 'recreate'],
    [[up(v2), null, v1, 'reconcile'], 'recreate'],
    [[up('localhost/side:3'), null, null, 'reconcile'], 'adopt'],
    [[null, null, null, 'reconcile'], 'unknown-image'],
  ];
  for (const [args, expected] of table) assert.is(choosePlacement(...args), expected, JSON.stringify(args));
});

test.run();
