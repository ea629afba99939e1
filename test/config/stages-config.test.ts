// SPEC config.md#stage: [[stage]] names [[container]] names and probe ids; a wrong
// reference is refused (exit 2) with its line and the closest name; the plan puts
// whatever no stage names into the last stage.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseConfig } from '../../src/config/load-config.js';
import { planStages } from '../../src/containers/stage-plan.js';
import { exitCodeOf } from '../../src/errors.js';
import { throwsWithCode } from '../helpers/assert-error.js';

const top = `app = "demo"
state_dir = "/var/lib/tide/demo"
mirrors = ["file:///srv/m"]
keys = ["/etc/tide/keys/a.asc"]
`;
const containers = ['mcns', 'proxy', 'web', 'extra'].map((n) => `\n[[container]]\nname = "${n}"\nimage = "localhost/${n}"\n`).join('');
const probes = `
[[health.probe]]
id = "dns"
type = "tcp"
port = 53

[[health.probe]]
id = "api"
type = "http"
url = "http://127.0.0.1:8080/"

[[health.probe]]
type = "http"
url = "http://127.0.0.1:8081/"
`;
const stages = (foundation: string, app = '["web"]', more = '') => `
[[stage]]
name = "foundation"
containers = ${foundation}
probes = ["dns"]
timeout = "120s"
${more}
[[stage]]
name = "app"
containers = ${app}
probes = ["api"]
`;

const config = (text: string) => parseConfig(top + containers + probes + text, '/etc/tide/tide.toml');

test('stages in the order written; unstaged containers and unlisted probes belong to the last; the restart to the last by default', () => {
  const c = config(stages('["mcns", "proxy"]'));
  const plan = planStages(c);
  assert.equal(plan.map((s) => [s.name, s.containers.map((x) => x.name), s.probes.map((p) => p.id ?? p.type), s.timeoutMs, s.service]), [
    ['foundation', ['mcns', 'proxy'], ['dns'], 120_000, false],
    ['app', ['web', 'extra'], ['api', 'http'], 90_000, true],
  ]);
});

test('service = true moves the restart into that stage', () => {
  const plan = planStages(config(stages('["mcns"]', '["web"]', 'service = true')));
  assert.equal(plan.map((s) => s.service), [true, false]);
});

test('without [[stage]] everything is one stage', () => {
  const plan = planStages(config(''));
  assert.equal(plan.map((s) => [s.containers.length, s.probes.length, s.service]), [[4, 3, true]]);
});

const refusals: { name: string; text: string; message: string }[] = [
  { name: 'an unknown container', text: stages('["mcns", "prxy"]'),
    message: 'stage.containers: "prxy" (stage "foundation") is not a [[container]] name (line 38); did you mean proxy?' },
  { name: 'an unknown probe id', text: stages('["mcns"]').replace('probes = ["api"]', 'probes = ["apii"]'),
    message: 'stage.probes: "apii" (stage "app") is not the id of a [[health.probe]] (line 45); did you mean api?' },
  { name: 'a container in two stages', text: stages('["mcns", "web"]'),
    message: 'stage.containers: "web" is in stage "foundation" and in stage "app" (line 44); a container is in at most one stage' },
  { name: 'two stages of one name', text: stages('["mcns"]').replace('name = "app"', 'name = "foundation"'),
    message: 'stage.name: "foundation" names two stages (line 43)' },
  { name: 'two service stages', text: stages('["mcns"]', '["web"]', 'service = true').replace('probes = ["api"]', 'probes = ["api"]\nservice = true'),
    message: 'stage.service: both "foundation" and "app" say service = true (line 46); the restart runs in one stage' },
  { name: 'two probes of one id', text: stages('["mcns"]') + '\n[[health.probe]]\nid = "dns"\ntype = "tcp"\nport = 54\n',
    message: 'health.probe.id: "dns" is the id of an earlier probe too (line 48); ids must be unique' },
  { name: 'an unknown key of a stage', text: stages('["mcns"]').replace('timeout = "120s"', 'timout = "120s"'),
    message: 'stage.timout: unknown key (line 40); did you mean stage.timeout?' },
];

for (const r of refusals) {
  test(`refuses ${r.name}: one line, exit 2`, () => {
    const err = throwsWithCode(() => config(r.text), 'config');
    assert.is(err.message, r.message);
    assert.is(exitCodeOf(err), 2);
  });
}

test('[reconcile] interval and [podman] heal_state, with their defaults', () => {
  const plain = config('');
  assert.is(plain.reconcile.interval, 30_000);
  assert.is(plain.podman.heal_state, false);
  const set = config('\n[reconcile]\ninterval = "5s"\n\n[podman]\nheal_state = true\n');
  assert.is(set.reconcile.interval, 5_000);
  assert.is(set.podman.heal_state, true);
});

test.run();
