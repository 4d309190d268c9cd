// discoverModules / parseKbuild / moduleOf: grouping C files into modules the way kbuild does.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { discoverModules, moduleOf, parseKbuild, type ReadFile } from '../../server/src/analysis/kbuild';

/** An in-memory tree: path → content. */
function memoryFiles(files: Record<string, string>): ReadFile {
  return (file) => files[file];
}

function summary(modules: ReturnType<typeof discoverModules>): string[] {
  return modules.map((m) => `${m.name}: ${m.files.map((f) => path.relative('/w', f)).join(' ')}${m.kbuildFile ? ` (${path.relative('/w', m.kbuildFile)})` : ''}`).sort();
}

describe('parseKbuild', () => {
  test('obj-m/obj-y/obj-$(CONFIG), composites with -objs/-y/-$(CONFIG), continuations, comments, all assignment operators', () => {
    const modules = parseKbuild([
      '# comment: obj-m += ignored.o',
      'obj-m += alpha.o',
      'obj-$(CONFIG_BETA) := beta.o # trailing comment',
      'obj-y = gamma.o sub/',
      'alpha-objs := a1.o \\',
      '\ta2.o',
      'alpha-y += a3.o',
      'beta-$(CONFIG_BETA_EXTRA) += b1.o',
      'beta-y += b2.o',
      'ccflags-y += -DDEBUG',
    ].join('\n'));
    assert.deepEqual([...modules], [
      ['alpha', ['a1.o', 'a2.o', 'a3.o']],
      ['beta', ['b1.o', 'b2.o']],
      ['gamma', ['gamma.o']],
    ]);
  });

  test('variables, `?=`, and the out-of-tree Makefile idiom', () => {
    const modules = parseKbuild([
      'ifneq ($(KERNELRELEASE),)',
      'DRV_OBJS := core.o',
      'DRV_OBJS += io.o',
      'obj-m := drv.o',
      'drv-objs := $(DRV_OBJS) main.o',
      'else',
      'KDIR ?= /lib/modules/$(shell uname -r)/build',
      'default:',
      '\t$(MAKE) -C $(KDIR) M=$(PWD) modules',
      'endif',
    ].join('\n'));
    assert.deepEqual([...modules], [['drv', ['core.o', 'io.o', 'main.o']]]);
  });

  test('a target in a subdirectory keeps its directory', () => {
    assert.deepEqual([...parseKbuild('obj-m += sub/thing.o\nthing-y := x.o')], [['thing', ['sub/x.o']]]);
  });
});

describe('discoverModules', () => {
  test('Kbuild takes precedence over Makefile; unlisted files and lone files are their own modules', () => {
    const read = memoryFiles({
      '/w/drv/Kbuild': 'obj-m += drv.o\ndrv-y := main.o helper.o\n',
      '/w/drv/Makefile': 'obj-m += wrong.o\n',
      '/w/drv/main.c': '', '/w/drv/helper.c': '', '/w/drv/test_tool.c': '',
      '/w/lone/solo.c': '',
    });
    assert.deepEqual(summary(discoverModules(['/w/drv/main.c', '/w/drv/helper.c', '/w/drv/test_tool.c', '/w/lone/solo.c'], read)), [
      'drv: drv/main.c drv/helper.c (drv/Kbuild)',
      'solo: lone/solo.c',
      'test_tool: drv/test_tool.c (drv/Kbuild)',
    ]);
  });

  test('a module includes its other existing files even when only one is given; a missing object is left out', () => {
    const read = memoryFiles({ '/w/m/Makefile': 'obj-m := m.o\nm-objs := a.o b.o gone.o\n', '/w/m/a.c': '', '/w/m/b.c': '' });
    assert.deepEqual(summary(discoverModules(['/w/m/b.c'], read)), ['m: m/a.c m/b.c (m/Makefile)']);
  });

  test('a Kbuild one level up can list files of a subdirectory', () => {
    const read = memoryFiles({ '/w/top/Kbuild': 'obj-m += top.o\ntop-y := main.o lib/util.o\n', '/w/top/main.c': '', '/w/top/lib/util.c': '' });
    assert.deepEqual(summary(discoverModules(['/w/top/lib/util.c'], read)), ['top: top/main.c top/lib/util.c (top/Kbuild)']);
  });

  test('moduleOf finds the module of a file on disk, with its siblings', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-kbuild-'));
    fs.writeFileSync(path.join(dir, 'Kbuild'), 'obj-m += pair.o\npair-objs := one.o two.o\n');
    for (const name of ['one.c', 'two.c', 'three.c']) fs.writeFileSync(path.join(dir, name), '');
    const module = moduleOf(path.join(dir, 'two.c'));
    assert.equal(module.name, 'pair');
    assert.deepEqual(module.files, [path.join(dir, 'one.c'), path.join(dir, 'two.c')]);
    assert.equal(moduleOf(path.join(dir, 'three.c')).name, 'three');
    fs.rmSync(dir, { recursive: true });
  });
});
