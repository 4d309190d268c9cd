// The hostile-target review's findings, each reproduced without a guest: what a target answers, how
// targets are named and where the tool writes must never let a target (or a bad setting) reach
// outside the tool's own folders or the terminal's plain text.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
