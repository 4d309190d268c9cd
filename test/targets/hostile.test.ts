// The hostile-target review's findings, each reproduced without a guest: what a target answers, how
// targets are named and where the tool writes must never let a target (or a bad setting) reach
// outside the tool's own folders or the terminal's plain text.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateTargets } from '../../client/src/core/targets/config';
import { TargetPathError, targetModulePaths } from '../../client/src/core/targets/session';

describe('module paths a target lists (remote builds)', () => {
  const sources = ['Makefile', 'a.c', 'sub/b.c', 'sub/Kbuild'];

  it('accepts module files in the folder and in its source folders', () => {
    assert.deepEqual(targetModulePaths('./a.ko\0./sub/b-x.ko\0', sources), ['a.ko', 'sub/b-x.ko']);
    assert.deepEqual(targetModulePaths('', sources), []);
  });

  it('refuses every path that would leave the fetch folder or is not a module name, naming it', () => {
    for (const hostile of ['../../../../tmp/x.ko', './../x.ko', '/tmp/x.ko', 'sub/../../x.ko', 'other/x.ko', 'a.ko\n../../x.ko', '.hidden.ko', 'x.ko.sh', '-rf.ko', 'sub/./x.ko']) {
      assert.throws(() => targetModulePaths(`./a.ko\0${hostile}\0`, sources), (e: unknown) => e instanceof TargetPathError && e.message.includes(JSON.stringify(hostile.replace(/^\.\//, ''))), hostile);
    }
  });

  it('refuses an unbounded answer', () => {
    assert.throws(() => targetModulePaths('a.ko\0'.repeat(1001), sources), /more than 1000 modules/);
  });
});

describe('target host names', () => {
  it('accepts aliases, DNS names, user@host and IP addresses', () => {
    for (const host of ['board', 'lkm-debian', 'me@board.lan', 'dev_vm.example.org', '192.168.1.7', 'root@127.0.0.1', '::1', 'u@fe80::1']) {
      assert.equal(validateTargets([{ name: 't', host }])[0].host, host);
    }
  });

  it('refuses shell, ssh and rsync syntax with a message naming the setting', () => {
    const hostile = ['-oProxyCommand=touch /tmp/x', '-J', 'a;b', 'h$(id)', 'h`id`', 'a b', 'a\tb', 'a\nb', 'me@-oX', '@host', 'a|b', 'a&b', 'h%n', "h'x", 'h:/tmp', 'a@b@c', '', 'h/x'];
    for (const host of hostile) {
      assert.throws(() => validateTargets([{ name: 't', host }]), /lkm\.targets\[0\]\.host must be an ssh config alias, a host name or an IP address/, JSON.stringify(host));
    }
  });
});
