// New Module's core (names, files, no overwrite, kernel-symbol clashes) and the `lkm new` CLI.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createModule, findKernelBuildDir, moduleNameProblem, newModuleProblem } from '../../client/src/core/scaffold/newModule';
import { moduleTemplates } from '../../client/src/core/scaffold/templates';

const root = path.resolve(__dirname, '../..');
const lkmBin = path.join(root, 'bin', 'lkm.js');

function lkm(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  assert.ok(existsSync(path.join(root, 'out', 'client', 'lkm.js')), 'out/client/lkm.js is missing: run npm run build first');
  const result = spawnSync(process.execPath, [lkmBin, ...args], { encoding: 'utf8', timeout: 60_000 });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('New Module', () => {
  let parent: string;
  before(() => {
    parent = mkdtempSync(path.join(tmpdir(), 'lkm-new-'));
  });
  after(() => rmSync(parent, { recursive: true, force: true }));

  it('accepts C identifiers and explains every rejected name', () => {
    assert.equal(moduleNameProblem('lkm_hello'), undefined);
    assert.equal(moduleNameProblem('_x9'), undefined);
    assert.match(moduleNameProblem('')!, /Enter a module name/);
    assert.match(moduleNameProblem('my-mod')!, /not a C identifier.*no '-'/);
    assert.match(moduleNameProblem('9lives')!, /not a C identifier/);
    assert.match(moduleNameProblem('héllo')!, /not a C identifier/);
    assert.match(moduleNameProblem('static')!, /C keyword/);
    assert.equal(moduleNameProblem('a'.repeat(55)), undefined);
    assert.match(moduleNameProblem('a'.repeat(56))!, /longer than 55/);
  });

  it('creates the source, a Makefile with KDIR ?= and a clean target, and a .gitignore', () => {
    const result = createModule({ name: 'lkm_fresh', templateId: 'chrdev', parentDir: parent, values: { author: 'A. Hacker <a@example.com>' } });
    assert.equal(result.moduleDir, path.join(parent, 'lkm_fresh'));
    assert.deepEqual(result.files.map((file) => path.basename(file)), ['lkm_fresh.c', 'Makefile', '.gitignore']);
    const source = readFileSync(result.files[0], 'utf8');
    assert.match(source, /MODULE_LICENSE\("GPL"\);/);
    assert.match(source, /MODULE_AUTHOR\("A\. Hacker <a@example\.com>"\);/);
    assert.match(source, /static int __init lkm_fresh_init\(void\)/);
    assert.match(source, /#define LKM_FRESH_IOC_CLEAR/);
    assert.doesNotMatch(source, /\{\{|lkm_example/);
    const makefile = readFileSync(path.join(result.moduleDir, 'Makefile'), 'utf8');
    assert.match(makefile, /^obj-m := lkm_fresh\.o$/m);
    assert.match(makefile, /^KDIR \?= \/lib\/modules\/\$\(shell uname -r\)\/build$/m);
    assert.match(makefile, /^\t\$\(MAKE\) -C \$\(KDIR\) M=\$\(PWD\) modules$/m);
    assert.match(makefile, /^clean:\n\t\$\(MAKE\) -C \$\(KDIR\) M=\$\(PWD\) clean$/m);
    const gitignore = readFileSync(path.join(result.moduleDir, '.gitignore'), 'utf8').split('\n');
    for (const product of ['*.o', '*.ko', '*.mod.c', '.*.cmd', 'modules.order', 'Module.symvers', 'compile_commands.json']) assert.ok(gitignore.includes(product), product);
  });

  it('lists every source of a multi-file module in <mod>-y, with no <mod>.c', () => {
    const result = createModule({ name: 'lkm_multi', templateId: 'multifile', parentDir: parent });
    assert.deepEqual(result.files.map((file) => path.basename(file)).sort(), ['.gitignore', 'Makefile', 'lkm_multi_main.c', 'lkm_multi_util.c', 'lkm_multi_util.h']);
    assert.equal(path.basename(result.files[0]), 'lkm_multi_main.c');
    assert.match(readFileSync(path.join(result.moduleDir, 'Makefile'), 'utf8'), /^lkm_multi-y := lkm_multi_main\.o lkm_multi_util\.o$/m);
  });

  it('never overwrites: an existing folder is refused and left as it was', () => {
    const existing = path.join(parent, 'lkm_taken');
    mkdirSync(existing);
    writeFileSync(path.join(existing, 'lkm_taken.c'), 'mine');
    assert.throws(() => createModule({ name: 'lkm_taken', templateId: 'skeleton', parentDir: parent }), /already exists.*nothing is overwritten/);
    assert.equal(readFileSync(path.join(existing, 'lkm_taken.c'), 'utf8'), 'mine');
  });

  it('refuses author/description values that would break the C source', () => {
    for (const description of ['say "hi"', 'back\\slash', 'two\nlines', 'ends */ the comment']) {
      assert.match(newModuleProblem({ name: 'lkm_v', templateId: 'skeleton', parentDir: parent, values: { description } })!, /must not contain/);
    }
    assert.match(newModuleProblem({ name: 'lkm_v', templateId: 'skeleton', parentDir: parent, values: { colour: 'x' } })!, /no placeholder 'colour'/);
    assert.equal(newModuleProblem({ name: 'lkm_v', templateId: 'skeleton', parentDir: parent, values: { description: "It's fine: <ok> & (ok)" } }), undefined);
  });

  it('refuses a missing parent folder and an unknown template with clear messages', () => {
    assert.match(newModuleProblem({ name: 'lkm_x', templateId: 'skeleton', parentDir: path.join(parent, 'nope') })!, /does not exist/);
    assert.throws(() => newModuleProblem({ name: 'lkm_x', templateId: 'nope', parentDir: parent }), /unknown template 'nope'; known: skeleton, /);
  });

  it('refuses names whose identifiers the kernel headers already declare (oops → oops_exit)', () => {
    const kernelBuildDir = findKernelBuildDir();
    assert.ok(kernelBuildDir, 'no kernel headers found: install linux-headers-amd64');
    assert.match(newModuleProblem({ name: 'oops', templateId: 'skeleton', parentDir: parent, kernelBuildDir })!, /would define oops_exit/);
    assert.match(newModuleProblem({ name: 'pci', templateId: 'chrdev', parentDir: parent, kernelBuildDir })!, /pci_class/);
    assert.equal(newModuleProblem({ name: 'lkm_unique_name', templateId: 'chrdev', parentDir: parent, kernelBuildDir }), undefined);
  });
});

describe('lkm new', () => {
  let parent: string;
  before(() => {
    parent = mkdtempSync(path.join(tmpdir(), 'lkm-cli-'));
  });
  after(() => rmSync(parent, { recursive: true, force: true }));

  it('--list prints one template per line, id first', () => {
    const { status, stdout } = lkm('new', '--list');
    assert.equal(status, 0);
    const ids = stdout.trim().split('\n').map((line) => line.split('\t')[0]);
    assert.deepEqual(ids, moduleTemplates.map((template) => template.id));
  });

  it('creates a module in --dir and reports its files', () => {
    const { status, stdout, stderr } = lkm('new', 'lkm_cli', '--template', 'kthread', '--dir', parent);
    assert.equal(status, 0, stderr);
    assert.match(stdout, /created .*lkm_cli/);
    assert.match(readFileSync(path.join(parent, 'lkm_cli', 'lkm_cli.c'), 'utf8'), /kthread_run\(lkm_cli_thread/);
  });

  it('fails with a message for a bad name, a missing template option, an unknown template and an existing folder', () => {
    const badName = lkm('new', 'bad-name', '--template', 'skeleton', '--dir', parent);
    assert.notEqual(badName.status, 0);
    assert.match(badName.stderr, /not a C identifier/);
    const noTemplate = lkm('new', 'lkm_y', '--dir', parent);
    assert.notEqual(noTemplate.status, 0);
    assert.match(noTemplate.stderr, /--template is required; one of: skeleton/);
    const unknown = lkm('new', 'lkm_y', '--template', 'nope', '--dir', parent);
    assert.notEqual(unknown.status, 0);
    assert.match(unknown.stderr, /unknown template 'nope'/);
    const again = lkm('new', 'lkm_cli', '--template', 'skeleton', '--dir', parent);
    assert.notEqual(again.status, 0);
    assert.match(again.stderr, /already exists/);
    assert.ok(!existsSync(path.join(parent, 'lkm_y')));
  });
});
