// The language server's workspace: edits re-lint incrementally (re-parse against the old tree, lock
// helpers' summaries reused for unchanged files) and must find exactly what a fresh lint finds.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { Analyzer } from '../../server/src/engine';
import { changeBetween, LintWorkspace, treeEdit } from '../../server/src/lsp/workspace';
import { normalize } from '../../server/src/parsing/normalize';

const HELPERS = `#include <linux/spinlock.h>
void ws_lock(struct ws_dev *d)
{
	spin_lock(&d->lock);
}
void ws_unlock(struct ws_dev *d)
{
	spin_unlock(&d->lock);
}
`;
const MAIN = `#include <linux/module.h>
void ws_lock(struct ws_dev *d);
void ws_unlock(struct ws_dev *d);
int ws_poke(struct ws_dev *d, int x)
{
	ws_lock(d);
	if (x)
		return -EINVAL;
	ws_unlock(d);
	return 0;
}
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ws");
`;

describe('language server workspace', () => {
  let analyzer: Analyzer;
  before(async () => {
    analyzer = await Analyzer.create({ incremental: true });
  });

  const summary = (findings: Map<string, Array<{ range: { start: { line: number } }; rule: string }>>) =>
    [...findings].flatMap(([file, list]) => list.map((f) => `${path.basename(file)}:${f.range.start.line + 1}:${f.rule}`)).sort();

  test('editing one file of a module gives the same findings as linting it afresh', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-ws-'));
    fs.writeFileSync(path.join(dir, 'Kbuild'), 'obj-m += ws.o\nws-y := main.o helpers.o\n');
    fs.writeFileSync(path.join(dir, 'helpers.c'), HELPERS);
    fs.writeFileSync(path.join(dir, 'main.c'), MAIN);
    const main = path.join(dir, 'main.c');
    const editing = new LintWorkspace(analyzer, () => undefined);
    editing.openOrChange(main, MAIN);
    assert.deepEqual(summary(editing.lintModuleOf(main)), ['main.c:8:lock-imbalance']);
    // Fix the leak, then break it again elsewhere, keystroke by keystroke.
    const fixed = MAIN.replace('\t\treturn -EINVAL;', '\t\tgoto out;').replace('\tws_unlock(d);\n\treturn 0;', 'out:\n\tws_unlock(d);\n\treturn 0;');
    editing.openOrChange(main, fixed);
    assert.deepEqual(summary(editing.lintModuleOf(main)), []);
    const broken = fixed.replace('out:\n\tws_unlock(d);', 'out:\n\tws_unlock(d);\n\tws_unlock(d);');
    editing.openOrChange(main, broken);
    const incremental = summary(editing.lintModuleOf(main));
    const fresh = new LintWorkspace(analyzer, () => undefined);
    fresh.openOrChange(main, broken);
    assert.deepEqual(incremental, summary(fresh.lintModuleOf(main)));
    assert.deepEqual(incremental, ['main.c:11:lock-imbalance']);
    editing.dispose();
    fresh.dispose();
  });

  test('module membership is kept between keystrokes and re-read when the layout changes on disk', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-ws-layout-'));
    const main = path.join(dir, 'main.c');
    fs.writeFileSync(main, MAIN);
    const workspace = new LintWorkspace(analyzer, () => undefined);
    assert.deepEqual(workspace.moduleOf(main).files, [main]);
    fs.writeFileSync(path.join(dir, 'Kbuild'), 'obj-m += ws.o\nws-y := main.o helpers.o\n');
    fs.writeFileSync(path.join(dir, 'helpers.c'), HELPERS);
    assert.deepEqual(workspace.moduleOf(main).files, [main], 'no re-read without a change notification');
    workspace.forgetModuleLayout();
    assert.deepEqual(workspace.moduleOf(main).files.map((f) => path.basename(f)).sort(), ['helpers.c', 'main.c']);
    workspace.dispose();
  });

  test('a .c file another one #includes is linted as part of the includer\'s module', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-ws-'));
    fs.mkdirSync(path.join(dir, 'selftest'));
    fs.writeFileSync(path.join(dir, 'Makefile'), 'obj-m += wg.o\nwg-y := main.o\n');
    fs.writeFileSync(path.join(dir, 'main.c'), `${MAIN}#include "selftest/checks.c"\n`);
    const included = path.join(dir, 'selftest', 'checks.c');
    const text = 'static int wg_selftest(void)\n{\n\treturn 0;\n}\n';
    fs.writeFileSync(included, text);
    const editing = new LintWorkspace(analyzer, () => undefined);
    editing.openOrChange(included, text);
    assert.deepEqual(editing.moduleOf(included).files.map((f) => path.relative(dir, f)).sort(), ['main.c', 'selftest/checks.c']);
    // On its own it would lack MODULE_LICENSE; as part of wg it does not.
    assert.deepEqual(summary(editing.lintModuleOf(included)).filter((f) => f.includes('missing-module-license')), []);
    editing.dispose();
  });

  test('a file found clean is re-checked when another file changes what it links against', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-ws-'));
    fs.writeFileSync(path.join(dir, 'Kbuild'), 'obj-m += ns.o\nns-y := a.o b.o\n');
    const a = path.join(dir, 'a.c');
    const b = path.join(dir, 'b.c');
    const licensed = 'MODULE_LICENSE("GPL");\nMODULE_DESCRIPTION("ns");\nMODULE_IMPORT_NS(DMA_BUF);\n';
    fs.writeFileSync(a, licensed);
    fs.writeFileSync(b, '#include <linux/sysfs.h>\nint b_use(struct kobject *k, const struct attribute *attr)\n{\n\tdma_buf_get(1);\n\treturn sysfs_create_file(k, attr);\n}\n');
    const editing = new LintWorkspace(analyzer, () => undefined);
    editing.configure({ kdir: path.join(__dirname, '..', 'fixtures', 'kdir-mini'), enable: true, debounceMs: 0 });
    editing.openOrChange(a, licensed);
    const unexported = () => summary(editing.lintModuleOf(a)).filter((f) => f.includes('unexported-symbol'));
    editing.openOrChange(a, licensed.replace('"GPL"', '"Proprietary"'));
    assert.deepEqual(unexported(), [], 'before loadTarget, linted without the kdir: exports are not checked');
    assert.ok(editing.hasPendingTarget);
    assert.ok(editing.loadTarget(), 'the configured kdir loads');
    assert.deepEqual(unexported(), ['b.c:4:unexported-symbol', 'b.c:5:unexported-symbol'], 'then checked against it');
    assert.equal(editing.hasPendingTarget, false);
    editing.openOrChange(a, licensed);
    assert.deepEqual(unexported(), []);
    assert.deepEqual(unexported(), [], 'the same again, from what was kept');
    editing.openOrChange(a, licensed.replace('MODULE_IMPORT_NS(DMA_BUF);\n', ''));
    assert.deepEqual(unexported(), ['b.c:4:unexported-symbol'], 'the namespace is no longer imported');
    editing.openOrChange(a, licensed.replace('"GPL"', '"Proprietary"'));
    assert.deepEqual(unexported(), ['b.c:4:unexported-symbol', 'b.c:5:unexported-symbol'], 'GPL-only under a proprietary license');
    editing.dispose();
  });

  test('a file the target leaves out of the module (`mod-$(CONFIG_X) += f.o`, X unset) is not checked against its exports', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-ws-'));
    fs.writeFileSync(path.join(dir, 'Kbuild'), 'obj-m += opt.o\nopt-y := main.o\nopt-$(CONFIG_LKM_TEST_UNSET) += extra.o\n');
    const main = path.join(dir, 'main.c');
    const text = 'MODULE_LICENSE("GPL");\nMODULE_DESCRIPTION("opt");\n';
    fs.writeFileSync(main, text);
    fs.writeFileSync(path.join(dir, 'extra.c'), 'unsigned long opt_lookup(void)\n{\n\treturn kallsyms_lookup_name("x");\n}\n');
    const editing = new LintWorkspace(analyzer, () => undefined);
    editing.configure({ kdir: path.join(__dirname, '..', 'fixtures', 'kdir-mini'), enable: true, debounceMs: 0 });
    editing.loadTarget();
    editing.openOrChange(main, text);
    assert.deepEqual(summary(editing.lintModuleOf(main)).filter((f) => f.includes('unexported-symbol')), []);
    fs.writeFileSync(path.join(dir, 'Kbuild'), 'obj-m += opt.o\nopt-y := main.o extra.o\n');
    editing.forgetModuleLayout();
    assert.deepEqual(summary(editing.lintModuleOf(main)).filter((f) => f.includes('unexported-symbol')), ['extra.c:3:unexported-symbol'], 'built unconditionally, it is');
    editing.dispose();
  });

  test('the edit between two texts is the changed span only', () => {
    const before = 'a'.repeat(10_000) + '\nXYZ\n' + 'b'.repeat(10_000);
    const after = 'a'.repeat(10_000) + '\nQ\n\n' + 'b'.repeat(10_000);
    assert.deepEqual(changeBetween(before, after), { start: 10_001, oldEnd: 10_004, newEnd: 10_003 });
    const edit = treeEdit(normalize(before), normalize(after));
    assert.deepEqual([edit.startIndex, edit.oldEndIndex, edit.newEndIndex], [10_001, 10_004, 10_003]);
    assert.deepEqual([edit.startPosition, edit.oldEndPosition, edit.newEndPosition], [{ row: 1, column: 0 }, { row: 1, column: 3 }, { row: 2, column: 0 }]);
  });
});
