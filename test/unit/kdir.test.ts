// Which kernel build dir the linter checks against: the resolution order (resolveKdir), what the
// extension tells the server about the active target (activeTargetKernel), and the once-a-session notice.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { resolveKdir, type ActiveTargetKernel } from '../../server/src/analysis/kernelTarget';
import type { KernelTargetStatus } from '../../server/src/lsp/protocol';
import { activeTargetKernel, guestKdir, kernelTargetNotice, NoticesShown } from '../../client/src/core/targets/kdir';
import { guestKernelVersion } from '../../client/src/core/guest/image';
import type { TargetSettings } from '../../client/src/core/targets/config';

const testVm: ActiveTargetKernel = { kind: 'test-vm', name: 'test-vm', kdir: '/guest/headers' };
const localSsh: ActiveTargetKernel = { kind: 'ssh', name: 'board', build: 'local', kdir: '/srv/board/build' };
const remoteSsh: ActiveTargetKernel = { kind: 'ssh', name: 'far', build: 'remote' };
const noHost = () => undefined;

describe('resolveKdir: the order', () => {
  test('an explicit kdir wins over every target and over the host', () => {
    for (const target of [testVm, localSsh, remoteSsh, undefined]) {
      const choice = resolveKdir({ explicit: '/my/kdir', target }, () => '/host/build');
      assert.equal(choice.kdir, '/my/kdir');
      assert.equal(choice.source, 'lkm.kdir');
      assert.equal(choice.problem, undefined);
    }
  });

  test('the test VM: the headers dir its modules are built against', () => {
    const choice = resolveKdir({ target: testVm }, () => '/host/build');
    assert.equal(choice.kdir, '/guest/headers');
    assert.match(choice.source, /test VM/);
  });

  test('the test VM without headers: none, with the reason and the install fix (never the host\'s kernel)', () => {
    const choice = resolveKdir({ target: { kind: 'test-vm', name: 'test-vm', problem: 'no linux-headers-amd64 found' } }, () => '/host/build');
    assert.equal(choice.kdir, undefined);
    assert.equal(choice.problem, 'no linux-headers-amd64 found');
    assert.deepEqual(choice.fixes, ['install-guest-headers', 'open-kdir-setting']);
  });

  test('an SSH target that builds here: its kdir', () => {
    const choice = resolveKdir({ target: localSsh }, () => '/host/build');
    assert.equal(choice.kdir, '/srv/board/build');
    assert.equal(choice.source, 'target board');
  });

  test('an SSH target that builds remotely without a kdir: none, saying so (not the host\'s headers)', () => {
    const choice = resolveKdir({ target: remoteSsh }, () => '/host/build');
    assert.equal(choice.kdir, undefined);
    assert.match(choice.problem ?? '', /builds on the target .*"remote".* no local "kdir"/);
    assert.ok(choice.fixes.includes('open-targets-setting'));
  });

  test('a remote-build SSH target with a local kdir copy: that kdir', () => {
    assert.equal(resolveKdir({ target: { ...remoteSsh, kdir: '/copies/far' } }).kdir, '/copies/far');
  });

  test('invalid target settings: none, pointing at the settings', () => {
    const choice = resolveKdir({ target: { kind: 'invalid', problem: 'no target named "x"' } }, () => '/host/build');
    assert.equal(choice.kdir, undefined);
    assert.equal(choice.problem, 'no target named "x"');
    assert.deepEqual(choice.fixes, ['open-targets-setting']);
  });

  test('no target known (the CLI): the running kernel\'s build dir, or none with the path it looked at', () => {
    assert.equal(resolveKdir({}, () => '/host/build').kdir, '/host/build');
    const none = resolveKdir({}, noHost);
    assert.equal(none.kdir, undefined);
    assert.match(none.problem ?? '', /\/lib\/modules\/.*\/build/);
  });
});

describe('activeTargetKernel: what the extension tells the server', () => {
  const settings = (partial: Partial<TargetSettings>) => () => ({ targets: [], moduleParams: {}, ...partial });
  const board = { name: 'board', host: 'root@board', build: 'local' as const, kdir: '/srv/board/build' };
  const far = { name: 'far', host: 'far', build: 'remote' as const };

  test('the default target is the test VM, with the guest headers dir', async () => {
    assert.deepEqual(await activeTargetKernel(settings({}), async () => '/guest/headers'), testVm);
    assert.deepEqual(await activeTargetKernel(settings({ activeTarget: 'test-vm', targets: [board] }), async () => '/guest/headers'), testVm);
  });

  test('the test VM whose headers are missing: the finder\'s reason', async () => {
    const missing = async () => {
      throw new Error('no linux-headers-amd64 found');
    };
    assert.deepEqual(await activeTargetKernel(settings({}), missing), { kind: 'test-vm', name: 'test-vm', problem: 'no linux-headers-amd64 found' });
  });

  test('SSH targets: local build with its kdir; remote build without', async () => {
    const never = async (): Promise<string> => assert.fail('the guest headers are not looked up for an SSH target');
    assert.deepEqual(await activeTargetKernel(settings({ targets: [board, far], activeTarget: 'board' }), never), localSsh);
    assert.deepEqual(await activeTargetKernel(settings({ targets: [board, far], activeTarget: 'far' }), never), remoteSsh);
  });

  test('an unknown active target or invalid settings: "invalid", with the settings error', async () => {
    const unknown = await activeTargetKernel(settings({ targets: [board], activeTarget: 'gone' }));
    assert.equal(unknown.kind, 'invalid');
    assert.match(unknown.kind === 'invalid' ? unknown.problem : '', /no target named "gone"/);
    const broken = await activeTargetKernel(() => {
      throw new Error('lkm.targets must be an array of targets');
    });
    assert.deepEqual(broken, { kind: 'invalid', problem: 'lkm.targets must be an array of targets' });
  });

  test('on this machine the guest headers are those of the linux-headers-amd64 kernel, with a Module.symvers', async () => {
    const version = await guestKernelVersion();
    const kdir = await guestKdir();
    assert.ok(fs.existsSync(path.join(kdir, 'Module.symvers')), `${kdir} has no Module.symvers`);
    const uts = fs.readFileSync(path.join(kdir, 'include/generated/utsrelease.h'), 'utf8');
    assert.ok(uts.includes(`"${version}"`), `${kdir} is not the headers of ${version}: ${uts}`);
  });
});

describe('the "no usable kdir" notice', () => {
  const none: KernelTargetStatus = { source: 'the test VM (test-vm)', problem: 'no linux-headers-amd64 found', fixes: ['install-guest-headers', 'open-kdir-setting'] };

  test('is shown once a session per kdir and problem, not on every status', () => {
    const shown = new NoticesShown();
    assert.equal(shown.firstTime(none), true);
    assert.equal(shown.firstTime({ ...none }), false);
    const unusable: KernelTargetStatus = { kdir: '/x', source: 'lkm.kdir', problem: 'cannot use /x: no Module.symvers', fixes: ['open-kdir-setting'] };
    assert.equal(shown.firstTime(unusable), true);
    assert.equal(shown.firstTime({ ...unusable, kdir: '/y', problem: 'cannot use /y: no Module.symvers' }), true);
    assert.equal(shown.firstTime(unusable), false);
  });

  test('a usable kdir is never a notice', () => {
    const fine: KernelTargetStatus = { kdir: '/guest/headers', release: '6.1.0', source: 'the test VM (test-vm)', fixes: [] };
    assert.equal(new NoticesShown().firstTime(fine), false);
    assert.equal(kernelTargetNotice(fine), undefined);
  });

  test('says export checks are off, where from, why, and offers the fixes', () => {
    const notice = kernelTargetNotice(none);
    assert.equal(notice?.text, 'LKM: export checks are off for the test VM (test-vm): no linux-headers-amd64 found');
    assert.deepEqual(notice?.fixes, ['install-guest-headers', 'open-kdir-setting']);
  });
});
