// Reading kbuild's `.o.cmd` files back (core/intellisense/kbuildCommands): the word splitting
// agrees with the real shell's on kbuild's quoting, the objtool part after `;` is not the
// compilation, `savedcmd_` (Linux 6.3+) reads like `cmd_`, and other .cmd files are ignored.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readKbuildCommands, splitShellWords } from '../../client/src/core/intellisense/kbuildCommands';

/** The words sh makes of `text`. */
function shWords(text: string): string[] {
  return execFileSync('sh', ['-c', 'eval "set -- $0"; printf "%s\\0" "$@"', text], { encoding: 'utf8' }).split('\0').slice(0, -1);
}

describe('kbuild .cmd files', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'lkm-cmd-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('splits words as sh does', () => {
    for (const text of [
      `gcc-12 -DKBUILD_BASENAME='"hello"' -DKBUILD_MODNAME='"lkm_hello"' -D__KBUILD_MODNAME=kmod_lkm_hello`,
      `cc -DX="a b" -DY=\\"q\\" -I'/p with space'/inc  -DZ='it'"'"'s' -c`,
      `cc -DS="\\$HOME \\\\ \\\`x\\\`" -DT=a\\ b`,
    ]) {
      assert.deepEqual(splitShellWords(text), shWords(text), text);
    }
  });

  it('reads the compilation of each object, not objtool nor other .cmd files', () => {
    const kdir = '/usr/src/linux-headers-x';
    mkdirSync(path.join(dir, 'sub'));
    writeFileSync(path.join(dir, '.a.o.cmd'), `cmd_${dir}/a.o := gcc -I./include -DKBUILD_BASENAME='"a"' -c -o ${dir}/a.o ${dir}/a.c   ; ./tools/objtool/objtool --orc --module ${dir}/a.o\n\nsource_${dir}/a.o := ${dir}/a.c\n`);
    writeFileSync(path.join(dir, 'sub', '.b.o.cmd'), `savedcmd_sub/b.o := gcc -c -o sub/b.o sub/b.c\n`);
    writeFileSync(path.join(dir, '.m.ko.cmd'), `cmd_${dir}/m.ko := ld -r -o ${dir}/m.ko ${dir}/m.o\n`);
    writeFileSync(path.join(dir, '.m.o.cmd'), `cmd_${dir}/m.o := ld -r -o ${dir}/m.o ${dir}/a.o\n`);
    const commands = readKbuildCommands(dir, kdir);
    assert.deepEqual(commands, [
      { file: `${dir}/a.c`, directory: kdir, arguments: ['gcc', '-I./include', '-DKBUILD_BASENAME="a"', '-c', '-o', `${dir}/a.o`, `${dir}/a.c`] },
      { file: `${kdir}/sub/b.c`, directory: kdir, arguments: ['gcc', '-c', '-o', 'sub/b.o', `${kdir}/sub/b.c`] },
    ].sort((a, b) => a.file.localeCompare(b.file)));
  });
});
