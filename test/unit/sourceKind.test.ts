// Which C files are kernel code (sourceKind.isKernelSource), and that neither the CLI's module run nor
// the language server lints a userspace program with kernel rules.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import type { ReadFile } from '../../server/src/analysis/kbuild';
import { isKernelSource, type KbuildView } from '../../server/src/analysis/sourceKind';
import { Analyzer } from '../../server/src/engine';
import { LintWorkspace } from '../../server/src/lsp/workspace';

const noFiles: ReadFile = () => undefined;
const kernel = (text: string, view: KbuildView, read = noFiles) => isKernelSource('/w/dir/x.c', text, view, read);

describe('isKernelSource', () => {
  test('a program: main() or a C library header, even with uapi headers it shares with the kernel', () => {
    // Modelled on tools/testing/selftests/…: <linux/ioctl.h> and <linux/types.h> are uapi.
    assert.equal(kernel('#include <stdio.h>\n#include <linux/ioctl.h>\nint main(void) { return 0; }\n', 'not-listed'), false);
    assert.equal(kernel('#include <linux/types.h>\nint main(int argc, char **argv)\n{\n}\n', 'none'), false);
    assert.equal(kernel('#include <sys/ioctl.h>\n#include <linux/kvm.h>\nstatic int run(void) { return 0; }\n', 'not-listed'), false);
    assert.equal(kernel('#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC("xdp") int prog(void *ctx) { return 0; }\n', 'not-listed'), false);
  });

  test('kernel code: listed by Kbuild, a module or export macro, or a kernel header outside any Kbuild folder', () => {
    assert.equal(kernel('#include <stdio.h>\nint main(void) { return 0; }\n', 'listed'), true, 'Kbuild builds it: kernel, whatever it includes');
    assert.equal(kernel('#include "local.h"\nMODULE_LICENSE("GPL");\n', 'none'), true);
    assert.equal(kernel('int helper(void) { return 0; }\nEXPORT_SYMBOL_GPL(helper);\n', 'none'), true);
    assert.equal(kernel('#include <linux/module.h>\nstatic int x;\n', 'none'), true, 'a new module with no Kbuild yet');
    assert.equal(kernel('#include "priv.h"\nint f(void) { return 0; }\n', 'not-listed'), true, 'a Kbuild folder\'s file with only its own headers');
  });

  test('plain C: no Kbuild over its folder and no kernel header, in the file or its own headers', () => {
    assert.equal(kernel('int twice(int a) { return 2 * a; }\n', 'none'), false);
    assert.equal(kernel('#include "util.h"\nint f(void) { return 0; }\n', 'none'), false);
    const headers: Record<string, string> = { '/w/util.h': '#include <linux/list.h>\n' };
    assert.equal(kernel('#include "../util.h"\nint f(void) { return 0; }\n', 'none', (file) => headers[file]), true);
  });

  test('a C library header in the file\'s own header counts (test_progs.h, found through the folders above)', () => {
    const headers: Record<string, string> = { '/w/test_progs.h': '#pragma once\n#include "inner.h"\n', '/w/inner.h': '#include <stdlib.h>\n' };
    assert.equal(kernel('#include <test_progs.h>\n#include <linux/bpf.h>\nvoid test_x(void) {}\n', 'none', (file) => headers[file]), false);
    assert.equal(kernel('#include <test_progs.h>\nvoid test_x(void) {}\n', 'not-listed', (file) => headers[file]), false);
  });

  test('`main` as a member or a call is no definition', () => {
    assert.equal(kernel('#include "priv.h"\nstatic struct ops o = { .main = run };\nint f(void) { return ops->main(1); }\n', 'not-listed'), true);
  });
});

describe('userspace programs are not linted with kernel rules', () => {
  let analyzer: Analyzer;
  before(async () => {
    analyzer = await Analyzer.create({ incremental: true });
  });

  test('the language server: a test program beside a module gets no finding (and so no MODULE_LICENSE fix); the module still does', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-kind-'));
    fs.writeFileSync(path.join(dir, 'Kbuild'), 'obj-m += mymod.o\n');
    const module = path.join(dir, 'mymod.c');
    const program = path.join(dir, 'test_prog.c');
    fs.writeFileSync(module, '#include <linux/module.h>\nstatic int x;\n');
    const programText = '#include <stdio.h>\nint main(void)\n{\n\treturn 0;\n}\n';
    fs.writeFileSync(program, programText);
    const workspace = new LintWorkspace(analyzer, () => undefined);
    workspace.openOrChange(program, programText);
    assert.deepEqual([...workspace.lintModuleOf(program).values()].flat(), []);
    // Kernel code typed into it is linted by the function-level rules (the Kbuild does not build it: no module-level ones).
    const kernelText = '#include <linux/spinlock.h>\n#include <linux/delay.h>\nstatic DEFINE_SPINLOCK(l);\nvoid f(void)\n{\n\tspin_lock(&l);\n\tmsleep(1);\n\tspin_unlock(&l);\n}\n';
    workspace.openOrChange(program, kernelText);
    assert.deepEqual([...workspace.lintModuleOf(program).values()].flat().map((f) => f.rule), ['sleep-in-atomic']);
    workspace.openOrChange(module, '#include <linux/module.h>\nstatic int x;\n');
    assert.deepEqual([...workspace.lintModuleOf(module).values()].flat().map((f) => f.rule), ['missing-module-license', 'missing-module-description']);
    workspace.dispose();
    fs.rmSync(dir, { recursive: true });
  });
});
