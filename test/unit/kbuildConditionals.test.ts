// make's conditional directives in Kbuild files: ifeq/ifneq (both spellings), ifdef/ifndef, else,
// `else if…` chains, nesting; decided against the target's .config, read as taken when unknown.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { discoverModules, fileIsBuilt, linkage, moduleOf, parseKbuild, sourceIncludes } from '../../server/src/analysis/kbuild';

/** Module name → objects of a Kbuild text evaluated against `config` (undefined: no .config known). */
function modules(lines: string[], config?: Record<string, string>): Record<string, string[]> {
  return Object.fromEntries(parseKbuild(lines.join('\n'), '/w/drv', () => undefined, config ? new Map(Object.entries(config)) : undefined));
}

describe('conditional directives', () => {
  // drivers/md/Makefile: md-autodetect.o only when MD is built in.
  const md = ['obj-$(CONFIG_BLK_DEV_MD) += md-mod.o', 'md-mod-y := md.o', 'ifeq ($(CONFIG_BLK_DEV_MD),y)', 'obj-y += md-autodetect.o', 'endif'];

  test('ifeq on a CONFIG_ option: false when the target sets it otherwise, true when it matches', () => {
    assert.deepEqual(Object.keys(modules(md, { CONFIG_BLK_DEV_MD: 'm' })), ['md-mod']);
    assert.deepEqual(Object.keys(modules(md, { CONFIG_BLK_DEV_MD: 'y' })).sort(), ['md-autodetect', 'md-mod']);
    assert.deepEqual(Object.keys(modules(md, {})), ['md-mod'], 'an option the .config leaves unset is empty');
  });

  test('without a .config, a condition on CONFIG_ is unknown: its objects stay listed', () => {
    assert.deepEqual(Object.keys(modules(md)).sort(), ['md-autodetect', 'md-mod']);
  });

  test('ifneq and the quoted spellings', () => {
    const lines = ['ifneq ($(CONFIG_A),)', 'obj-m += a.o', 'endif', 'ifeq "$(CONFIG_B)" "m"', 'obj-m += b.o', 'endif', "ifneq '$(CONFIG_C)' \"y\"", 'obj-m += c.o', 'endif'];
    assert.deepEqual(Object.keys(modules(lines, { CONFIG_A: 'm', CONFIG_B: 'm', CONFIG_C: 'y' })).sort(), ['a', 'b']);
    assert.deepEqual(Object.keys(modules(lines, { CONFIG_C: 'm' })).sort(), ['c']);
  });

  test('ifdef / ifndef test a non-empty value: the .config for options, the Makefile for its own variables', () => {
    const lines = ['EMPTY :=', 'FULL := 1', 'ifdef CONFIG_A', 'obj-m += a.o', 'endif', 'ifndef CONFIG_B', 'obj-m += notb.o', 'endif',
      'ifdef EMPTY', 'obj-m += empty.o', 'endif', 'ifdef FULL', 'obj-m += full.o', 'endif'];
    assert.deepEqual(Object.keys(modules(lines, { CONFIG_A: 'y' })).sort(), ['a', 'full', 'notb']);
    assert.deepEqual(Object.keys(modules(lines, { CONFIG_B: 'm' })).sort(), ['full']);
  });

  test('else and `else ifeq` chains take the first branch that holds, and only it', () => {
    const lines = ['ifeq ($(CONFIG_X),y)', 'obj-m += one.o', 'else ifeq ($(CONFIG_X),m)', 'obj-m += two.o', 'else ifdef CONFIG_Y', 'obj-m += three.o', 'else', 'obj-m += four.o', 'endif'];
    assert.deepEqual(Object.keys(modules(lines, { CONFIG_X: 'y', CONFIG_Y: 'y' })), ['one']);
    assert.deepEqual(Object.keys(modules(lines, { CONFIG_X: 'm' })), ['two']);
    assert.deepEqual(Object.keys(modules(lines, { CONFIG_Y: 'y' })), ['three']);
    assert.deepEqual(Object.keys(modules(lines, {})), ['four']);
  });

  test('nested blocks: an inner block of a branch not taken is skipped whatever its condition', () => {
    const lines = ['ifdef CONFIG_OUTER', 'ifdef CONFIG_INNER', 'obj-m += inner.o', 'else', 'obj-m += innerelse.o', 'endif', 'obj-m += outer.o', 'else', 'obj-m += outerelse.o', 'endif', 'obj-m += after.o'];
    assert.deepEqual(Object.keys(modules(lines, { CONFIG_INNER: 'y' })).sort(), ['after', 'outerelse']);
    assert.deepEqual(Object.keys(modules(lines, { CONFIG_OUTER: 'y' })).sort(), ['after', 'innerelse', 'outer']);
    assert.deepEqual(Object.keys(modules(lines, { CONFIG_OUTER: 'y', CONFIG_INNER: 'm' })).sort(), ['after', 'inner', 'outer']);
  });

  test('conditions see the Makefile\'s own variables, expanded when the directive is read', () => {
    const lines = ['MODE = $(CONFIG_MODE)', 'ifeq ($(MODE),fast)', 'obj-m += fast.o', 'endif', 'LATE := 1', 'ifeq ($(LATE),)', 'obj-m += nolate.o', 'endif'];
    assert.deepEqual(Object.keys(modules(lines, { CONFIG_MODE: 'fast' })), ['fast']);
    assert.deepEqual(Object.keys(modules(lines, { CONFIG_MODE: 'slow' })), []);
  });

  test('unknown conditions (a variable nothing defines, an unevaluated function) read both branches', () => {
    const outOfTree = ['ifneq ($(KERNELRELEASE),)', 'obj-m := drv.o', 'else', 'KDIR ?= /lib/modules/$(shell uname -r)/build', 'endif'];
    assert.deepEqual(Object.keys(modules(outOfTree, {})), ['drv']);
    const arch = ['ifeq ($(ARCH),x86)', 'obj-m += x86.o', 'else', 'obj-m += other.o', 'endif'];
    assert.deepEqual(Object.keys(modules(arch, {})).sort(), ['other', 'x86']);
    const chain = ['ifeq ($(ARCH),x86)', 'obj-m += x86.o', 'else ifeq ($(CONFIG_Z),y)', 'obj-m += z.o', 'else', 'obj-m += rest.o', 'endif'];
    assert.deepEqual(Object.keys(modules(chain, {})).sort(), ['rest', 'x86'], 'z is false whatever ARCH is; rest is taken when ARCH is not x86');
    assert.deepEqual(Object.keys(modules(chain, { CONFIG_Z: 'y' })).sort(), ['x86', 'z'], 'rest is never taken: z holds');
  });

  test('an `endif` without a block is ignored', () => {
    assert.deepEqual(Object.keys(modules(['endif', 'obj-m += a.o'], {})), ['a']);
  });
});

describe('module discovery against the target\'s .config', () => {
  const files: Record<string, string> = {
    '/w/md/Makefile': 'obj-$(CONFIG_BLK_DEV_MD) += md-mod.o\nmd-mod-y := md.o\nifeq ($(CONFIG_BLK_DEV_MD),y)\nobj-y += md-autodetect.o\nendif\n',
    '/w/md/md.c': '', '/w/md/md-autodetect.c': '',
  };
  const read = (file: string) => files[file];
  const autodetect = (config?: Map<string, string>) => discoverModules(['/w/md/md.c', '/w/md/md-autodetect.c'], read, config).find((m) => m.name === 'md-autodetect')!;

  test('a module only a branch the target does not take lists is not built (md-autodetect.c with CONFIG_BLK_DEV_MD=m)', () => {
    const config = new Map([['CONFIG_BLK_DEV_MD', 'm']]);
    assert.deepEqual([autodetect(config).branchNotTaken, linkage(autodetect(config), config)], [true, 'absent']);
  });

  test('a part of a module only a branch not taken lists stays in the module (for its call graph) but is not built', () => {
    const dwc: Record<string, string> = {
      '/w/dwc/Makefile': 'obj-m += dwc.o\ndwc-y := core.o\nifneq ($(filter y,$(CONFIG_DWC_HOST)),)\ndwc-y += hcd.o\nendif\n',
      '/w/dwc/core.c': '', '/w/dwc/hcd.c': '',
    };
    const config = new Map([['CONFIG_DWC_HOST', 'm']]);
    const [module, ...others] = discoverModules(['/w/dwc/hcd.c'], (file) => dwc[file], config);
    assert.deepEqual([module?.name, module?.files, module?.filesNotBuilt, others], ['dwc', ['/w/dwc/core.c', '/w/dwc/hcd.c'], ['/w/dwc/hcd.c'], []]);
    assert.deepEqual([fileIsBuilt(module!, '/w/dwc/hcd.c', config), fileIsBuilt(module!, '/w/dwc/core.c', config)], [false, true]);
    const [withHost] = discoverModules(['/w/dwc/hcd.c'], (file) => dwc[file], new Map([['CONFIG_DWC_HOST', 'y']]));
    assert.equal(withHost?.filesNotBuilt, undefined);
  });

  test('with the branch taken, or no .config known, it is built into the image', () => {
    const config = new Map([['CONFIG_BLK_DEV_MD', 'y']]);
    assert.deepEqual([autodetect(config).listedBy, linkage(autodetect(config), config)], ['obj-y', 'builtin']);
    assert.deepEqual([autodetect().listedBy, linkage(autodetect(), undefined)], ['obj-y', 'builtin']);
  });
});

describe('objects named by a path', () => {
  const BY_PATH = path.join(__dirname, '..', 'fixtures', 'kbuild-modules', 'by-path');
  const members = ['mod/main.c', 'mod/shared/helper.c', 'common/extra.c'].map((file) => path.join(BY_PATH, file));

  test('`foo-objs := main.o shared/helper.o ../common/extra.o`: each file, found from any of them, is part of foo', () => {
    for (const file of members) {
      const module = moduleOf(file);
      assert.deepEqual([module.name, [...module.files].sort()], ['foo', [...members].sort()], path.relative(BY_PATH, file));
    }
  });
});

describe('a .c file included under an option', () => {
  test('the includes of a text carry the option of their single-option conditional', () => {
    const text = ['#include "always.c"', '#ifdef CONFIG_SM501', '#include "ohci-sm501.c"', '#endif',
      '#if IS_ENABLED(CONFIG_SELFTEST)', '#include "selftests/mman.c"', '#else', '#include "stub.c"', '#endif',
      '#if defined(CONFIG_A) || defined(CONFIG_B)', '#include "either.c"', '#endif'].join('\n');
    assert.deepEqual(sourceIncludes(text), [
      { include: 'always.c', option: undefined }, { include: 'ohci-sm501.c', option: 'CONFIG_SM501' },
      { include: 'selftests/mman.c', option: 'CONFIG_SELFTEST' }, { include: 'stub.c', option: undefined },
      { include: 'either.c', option: undefined },
    ]);
  });

  test('joins its includer\'s module and is built only when the target sets the option', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-included-'));
    try {
      fs.writeFileSync(path.join(dir, 'Kbuild'), 'obj-m += hcd.o\n');
      fs.writeFileSync(path.join(dir, 'hcd.c'), '#include <linux/module.h>\n#ifdef CONFIG_SM501\n#include "glue.c"\n#endif\n');
      fs.writeFileSync(path.join(dir, 'glue.c'), 'static int glue;\n');
      const files = [path.join(dir, 'hcd.c'), path.join(dir, 'glue.c')];
      const unset = new Map([['CONFIG_OTHER', 'y']]);
      const [module, ...others] = discoverModules(files, undefined, unset);
      assert.equal(others.length, 0);
      assert.deepEqual(module!.files.map((f) => path.basename(f)).sort(), ['glue.c', 'hcd.c']);
      assert.equal(fileIsBuilt(module!, files[1]!, unset), false);
      assert.equal(fileIsBuilt(module!, files[1]!, new Map([['CONFIG_SM501', 'y']])), true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
