// The flags removed from the database because clang rejects them are exactly flags Debian's clangd
// rejects (one run of `clangd --check` with all of them), and the flags kept on a real kbuild line
// are accepted (the clangd test: no error with the written database). Keeps the list honest.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clangCompatibleArguments, isGccOnlyFlag, REJECTED_BY_CLANG } from '../../client/src/core/intellisense/clangFlags';
import { clangdErrors } from './clangdCheck';

/** A value for each flag that takes one, as kernels pass it. */
const SAMPLE_VALUE: Record<string, string> = {
  '-mindirect-branch=': 'thunk-extern',
  '-mfunction-return=': 'thunk-extern',
  '-mpreferred-stack-boundary=': '3',
  '-ftrivial-auto-var-init=': 'zero',
  '-fzero-call-used-regs=': 'used-gpr',
  '-fmin-function-alignment=': '16',
  '-fasan-shadow-offset=': '0xdffffc0000000000',
};

describe('GCC-only flags', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'lkm-flags-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('clangd rejects every flag the database drops as rejected, each with its own error', async () => {
    const flags = REJECTED_BY_CLANG.map((f) => (f.endsWith('=') ? f + SAMPLE_VALUE[f] : f));
    assert.ok(flags.every((f) => !f.endsWith('undefined')), 'a sample value is missing');
    const file = path.join(dir, 't.c');
    writeFileSync(file, 'int lkm_flags_test;\n');
    writeFileSync(path.join(dir, 'compile_commands.json'), JSON.stringify([{ directory: dir, file, arguments: ['gcc-12', ...flags, '-c', file] }]));
    const errors = await clangdErrors(file);
    const unaccepted = flags.filter((f) => !errors.some((e) => e.message.includes(`'${f}'`)));
    assert.deepEqual(unaccepted, [], `clangd accepts these: ${unaccepted.join(' ')}; all errors: ${JSON.stringify(errors)}`);
  });

  it('keeps the compiler, flags clang knows and values that only look alike', () => {
    const line = ['gcc-12', '-mrecord-mcount', '-mfentry', '-Wp,-MMD,/m/.x.o.d', '-mindirect-branch=thunk-extern', '-mindirect-branch-register', '-DX=-fconserve-stack', '-c', 'x.c'];
    assert.deepEqual(clangCompatibleArguments(line), ['gcc-12', '-mfentry', '-DX=-fconserve-stack', '-c', 'x.c']);
    assert.equal(isGccOnlyFlag('-fplugin=/usr/lib/gcc/x86_64-linux-gnu/12/plugin/randomize_layout_plugin.so'), true);
    assert.equal(isGccOnlyFlag('-fno-allow-store-data-races-x'), false);
  });
});
