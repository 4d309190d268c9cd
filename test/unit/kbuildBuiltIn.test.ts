// Which modules link into the kernel image, and composite lists with substitutions.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { discoverModules, isBuiltIn, linkage } from '../../server/src/analysis/kbuild';

describe('kbuild lists', () => {
  test('obj-y and obj-$(CONFIG_X)=y are built in; obj-m and =m are modules; $(CONFIG_X:m=y) composites join their module', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-kbuild-'));
    fs.writeFileSync(path.join(dir, 'Makefile'), [
      'obj-y += core.o',
      'obj-$(CONFIG_VT) += vt.o',
      'obj-$(CONFIG_IXGBE) += ixgbe.o',
      'obj-m += extra.o',
      'ixgbe-objs := ixgbe_main.o',
      'ixgbe-$(CONFIG_FCOE:m=y) += ixgbe_fcoe.o',
      '',
    ].join('\n'));
    for (const name of ['core', 'vt', 'ixgbe_main', 'ixgbe_fcoe', 'extra']) fs.writeFileSync(path.join(dir, `${name}.c`), '');
    const modules = discoverModules(['core', 'vt', 'ixgbe_main', 'ixgbe_fcoe', 'extra'].map((n) => path.join(dir, `${n}.c`)));
    const byName = new Map(modules.map((m) => [m.name, m]));
    assert.deepEqual(byName.get('ixgbe')?.files.map((f) => path.basename(f)).sort(), ['ixgbe_fcoe.c', 'ixgbe_main.c']);
    const config = new Map([['CONFIG_VT', 'y'], ['CONFIG_IXGBE', 'm']]);
    assert.equal(isBuiltIn(byName.get('core')!, config), true);
    assert.equal(isBuiltIn(byName.get('vt')!, config), true);
    assert.equal(isBuiltIn(byName.get('ixgbe')!, config), false);
    assert.equal(isBuiltIn(byName.get('extra')!, config), false);
    assert.equal(isBuiltIn(byName.get('vt')!, undefined), false, 'unknown config: treated as a module');
    assert.equal(linkage(byName.get('vt')!, new Map()), 'absent', 'CONFIG_VT unset: not built for this target');
    assert.equal(linkage(byName.get('extra')!, new Map()), 'module');
  });
});

describe('included sources', () => {
  test('a .c file #included by another is part of that file, not a module of its own', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-incl-'));
    fs.writeFileSync(path.join(dir, 'hcd.c'), '#include "hcd-glue.c"\nint x;\n');
    fs.writeFileSync(path.join(dir, 'hcd-glue.c'), 'static int glue;\n');
    const modules = discoverModules([path.join(dir, 'hcd.c'), path.join(dir, 'hcd-glue.c')]);
    assert.deepEqual(modules.map((m) => m.name), ['hcd']);
  });
});

describe('kbuild fragments and conditional variables', () => {
  test('include $(src)/… fragments and X-$(CONFIG_Y) variables build one module', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-frag-'));
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.writeFileSync(path.join(dir, 'Kbuild'), 'include $(src)/sub/Kbuild\nbig-y := main.o $(sub-y)\ndom0-$(CONFIG_PCI) += pci.o\nobj-m += big.o\nobj-$(CONFIG_XEN) += $(dom0-y)\n');
    fs.writeFileSync(path.join(dir, 'sub', 'Kbuild'), 'sub-y += sub/part.o\n');
    for (const name of ['main.c', 'sub/part.c', 'pci.c']) fs.writeFileSync(path.join(dir, name), '');
    const modules = discoverModules(['main.c', 'sub/part.c', 'pci.c'].map((n) => path.join(dir, n)));
    const byName = new Map(modules.map((m) => [m.name, m.files.map((f) => path.relative(dir, f)).sort()]));
    assert.deepEqual(byName.get('big'), ['main.c', 'sub/part.c']);
    assert.deepEqual(byName.get('pci'), ['pci.c']);
    assert.equal(modules.find((m) => m.name === 'pci')?.listedBy, 'obj-$(CONFIG_XEN)');
  });
});
