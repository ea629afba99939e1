// test-needs: systemd, nginx
// The shipped systemd units: valid for systemd-analyze, hardened to an exposure
// of 5.0 or lower, ordered so a broken release can still be rolled back.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import {
  checkout, exposureOf, listOf, readUnit, shippedServices, shippedUnits, stageForAnalyze, verifyUnit, run,
} from './unit-files.js';

const unitDir = join(checkout, 'systemd');
// Ordering keys that would let a broken app or nginx stop (or never start) tide-verify.
const hardDependencies = ['Requires', 'Requisite', 'BindsTo', 'PartOf', 'Upholds'];

test('every shipped unit passes systemd-analyze verify without warnings', () => {
  const work = tempDir();
  try {
    const staged = stageForAnalyze(unitDir, work.path);
    for (const name of shippedUnits) {
      const { status, warnings } = verifyUnit(join(staged, name));
      assert.is(status, 0, `${name}: systemd-analyze verify exited ${status}: ${warnings.join('\n')}`);
      assert.equal(warnings, [], `${name}: ${warnings.join('\n')}`);
    }
  } finally {
    work.cleanup();
  }
});

test('verify catches a broken unit (the check can fail)', () => {
  const work = tempDir();
  try {
    const staged = stageForAnalyze(unitDir, work.path);
    mkdirSync(join(staged, 'tide-update.service.d'));
    writeFileSync(join(staged, 'tide-update.service.d', 'bogus.conf'), '[Service]\nProtectSystem=sometimes\n');
    const { warnings } = verifyUnit(join(staged, 'tide-update.service'));
    assert.ok(warnings.some((line) => /bogus.conf.*sometimes/.test(line)), `expected a warning, got ${warnings.join('\n')}`);
  } finally {
    work.cleanup();
  }
});

test('every service has an offline security exposure of 5.0 or lower', () => {
  const work = tempDir();
  try {
    const staged = stageForAnalyze(unitDir, work.path);
    for (const name of shippedServices) {
      const exposure = exposureOf(join(staged, name));
      assert.ok(exposure <= 5.0, `${name}: exposure ${exposure} is above 5.0`);
      // The same bound through systemd-analyze's own gate, as CI would use it.
      const gate = run('systemd-analyze', ['security', '--offline=yes', '--threshold=50', join(staged, name)]);
      assert.is(gate.status, 0, `${name}: --threshold=50 failed`);
    }
  } finally {
    work.cleanup();
  }
});

test('an unhardened service scores above 5.0 (the exposure parse is real)', () => {
  const work = tempDir();
  try {
    writeFileSync(join(work.path, 'bare-tide.service'), '[Service]\nType=oneshot\nExecStart=/bin/true\n');
    assert.ok(exposureOf(join(work.path, 'bare-tide.service')) > 5.0);
  } finally {
    work.cleanup();
  }
});

test('tide-verify is ordered after nginx with Wants/After and never Requires', () => {
  const verify = readUnit(unitDir, 'tide-verify.service');
  assert.ok(listOf(verify, 'Unit', 'Wants').includes('nginx.service'));
  assert.ok(listOf(verify, 'Unit', 'After').includes('nginx.service'));
  assert.is(verify.get('Service')?.get('Type')?.[0], 'oneshot');
  assert.match(verify.get('Service')?.get('ExecStart')?.[0] ?? '', /^\/usr\/local\/bin\/tide verify\b/);
  assert.equal(listOf(verify, 'Install', 'WantedBy'), ['multi-user.target']);
  for (const name of shippedUnits) {
    const unit = readUnit(unitDir, name);
    for (const key of hardDependencies) assert.equal(listOf(unit, 'Unit', key), [], `${name} has ${key}=`);
  }
});

test('boot waits for the startup check only: tide-verify hands a probation to tide-probation.service', () => {
  const verify = readUnit(unitDir, 'tide-verify.service');
  assert.match(verify.get('Service')?.get('ExecStart')?.[0] ?? '', /\s--hand-off-probation tide-probation\.service(\s|$)/);
  const probation = readUnit(unitDir, 'tide-probation.service');
  assert.match(probation.get('Service')?.get('ExecStart')?.[0] ?? '', /^\/usr\/local\/bin\/tide verify --log-format json$/);
  // Started by tide-verify only, after it has exited (it holds the lock until then).
  assert.is(probation.get('Install'), undefined);
  assert.ok(listOf(probation, 'Unit', 'After').includes('tide-verify.service'));
  assert.equal(listOf(probation, 'Service', 'SuccessExitStatus'), ['5']);
  // Its start job ends at exec: a oneshot's would hold the boot at `starting` for the whole window.
  assert.equal(listOf(probation, 'Service', 'Type'), ['exec']);
});

test('the timer runs hourly, spread by a random delay, and catches up missed runs', () => {
  const timer = readUnit(unitDir, 'tide-update.timer');
  assert.equal(listOf(timer, 'Timer', 'OnCalendar'), ['hourly']);
  const delay = listOf(timer, 'Timer', 'RandomizedDelaySec')[0] ?? '';
  assert.match(delay, /^[1-9]\d*(min|m|h|s)?$/, `RandomizedDelaySec=${delay}`);
  assert.equal(listOf(timer, 'Timer', 'Persistent'), ['true']);
  assert.equal(listOf(timer, 'Install', 'WantedBy'), ['timers.target']);
  // The timer starts tide-update.service by name; it must exist and not be enabled on its own.
  const update = readUnit(unitDir, 'tide-update.service');
  assert.match(update.get('Service')?.get('ExecStart')?.[0] ?? '', /^\/usr\/local\/bin\/tide update\b/);
  assert.is(update.get('Install'), undefined);
});

test('a catch-up run at boot waits for tide-verify to settle a pending update', () => {
  const update = readUnit(unitDir, 'tide-update.service');
  assert.ok(listOf(update, 'Unit', 'After').includes('tide-verify.service'));
  assert.ok(listOf(update, 'Unit', 'After').includes('network-online.target'));
});

test('the services keep the sandbox an updater can afford', () => {
  for (const name of shippedServices) {
    const service = readUnit(unitDir, name).get('Service')!;
    const one = (key: string): string | undefined => service.get(key)?.at(-1);
    assert.is(one('ProtectSystem'), 'strict', name);
    assert.is(one('NoNewPrivileges'), 'yes', name);
    assert.is(one('PrivateTmp'), 'yes', name);
    assert.is(one('ProtectHome'), 'yes', name);
    assert.is(one('UMask'), '0022', name);
    assert.ok((service.get('ReadWritePaths') ?? []).includes('/var/lib/tide'), name);
    assert.equal(one('RestrictAddressFamilies')?.split(/\s+/).sort(), ['AF_INET', 'AF_INET6', 'AF_NETLINK', 'AF_UNIX'], name);
    // V8's JIT needs writable+executable pages: this would kill tide at start.
    assert.is(one('MemoryDenyWriteExecute'), undefined, name);
    assert.not.match(one('CapabilityBoundingSet') ?? '', /CAP_SYS_ADMIN/, name);
  }
});

test.run();
