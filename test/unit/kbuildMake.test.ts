// Kbuild files evaluated as make would: variable flavours, functions, included fragments, and which
// module a file of a fragment directory joins.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { discoverModules, fileIsBuilt, moduleOf, parseKbuild, type ModuleSpec, type ReadFile } from '../../server/src/analysis/kbuild';

function memoryFiles(files: Record<string, string>): ReadFile {
  return (file) => files[file];
}

/** The objects of `name` in a Kbuild text evaluated in /w/drv (includes read from `files`). */
function objectsOf(text: string, name = 'drv', files: Record<string, string> = {}): string[] | undefined {
  return parseKbuild(text, '/w/drv', memoryFiles(files)).get(name);
}

describe('make variables', () => {
  test('`=` expands when used (a later assignment counts), `:=` when assigned (it does not)', () => {
    const text = ['PART = $(LATE)', 'NOW := $(LATE)', 'LATE = late.o', 'obj-m += drv.o', 'drv-y := early.o', 'drv-y += $(PART) $(NOW)'].join('\n');
    assert.deepEqual(objectsOf(text), ['early.o', 'late.o']);
  });

  test('`+=` keeps the flavour: appended text of a recursive variable is expanded at use, of a simple one at once', () => {
    const text = [
      'REC = a.o', 'REC += $(X)',
      'SIMPLE := b.o', 'SIMPLE += $(X)',
      'X = x.o',
      'obj-m += drv.o', 'drv-objs = $(REC) $(SIMPLE)',
    ].join('\n');
    assert.deepEqual(objectsOf(text), ['a.o', 'x.o', 'b.o']);
  });

  test('`${VAR}`, computed names `$($(NAME)-y)`, substitution references and `?=`', () => {
    const text = [
      'NAME ?= drv', 'NAME ?= ignored',
      'SRCS := one.c two.c',
      'obj-m += ${NAME}.o',
      '$(NAME)-y := $(SRCS:.c=.o) $(SRCS:%.c=%_extra.o)',
    ].join('\n');
    assert.deepEqual(objectsOf(text), ['one.o', 'two.o', 'one_extra.o', 'two_extra.o']);
  });

  test('a recursive variable referencing itself reads it as empty instead of looping; rule recipes are not assignments', () => {
    const text = ['LOOP = $(LOOP) loop.o', 'obj-m += drv.o', 'drv-y := main.o $(LOOP)', 'all:', '\tdrv-y += recipe.o'].join('\n');
    assert.deepEqual(objectsOf(text), ['main.o', 'loop.o']);
  });

  test('`define` bodies are variables, not lines of the Makefile', () => {
    const text = ['define EXTRA', 'drv-y += not-a-line.o', 'endef', 'obj-m += drv.o', 'drv-y += main.o'].join('\n');
    assert.deepEqual(objectsOf(text), ['main.o']);
  });
});

describe('make functions', () => {
  test('addprefix, addsuffix, patsubst, subst, nested', () => {
    const text = [
      'DCN = hubp.o dpp.o',
      'PATH_DC = ../display/dc',
      'FILES = $(addprefix $(PATH_DC)/dcn30/,$(DCN))',
      'MORE = $(addsuffix _x.o,$(basename $(notdir a/alpha.c b/beta.c)))',
      'RENAMED = $(patsubst %.c,%.o,gamma.c skip.h) $(subst .S,.o,delta.S)',
      'obj-m += drv.o',
      'drv-y += $(FILES) $(MORE) $(RENAMED)',
    ].join('\n');
    assert.deepEqual(objectsOf(text), ['../display/dc/dcn30/hubp.o', '../display/dc/dcn30/dpp.o', 'alpha_x.o', 'beta_x.o', 'gamma.o', 'skip.h', 'delta.o'].filter((o) => o.endsWith('.o')));
  });

  test('foreach, filter, filter-out, call, if, strip, sort, words', () => {
    const text = [
      'LIBS = core io debug',
      'objects = $(foreach lib,$(LIBS),$(lib)/$(lib).o)',
      'wanted = $(filter-out debug/%,$(objects))',
      'pick = $(1)_$(2).o',
      'obj-m += drv.o',
      'drv-y += $(wanted) $(call pick,hw,v2) $(if $(LIBS),yes.o,no.o) $(if ,no2.o,yes2.o)',
      'drv-y += $(strip  $(sort z.o a.o z.o) ) $(words a b c).o $(filter %.o,keep.o drop.c)',
    ].join('\n');
    assert.deepEqual(objectsOf(text), ['core/core.o', 'io/io.o', 'hw_v2.o', 'yes.o', 'yes2.o', 'a.o', 'z.o', '3.o', 'keep.o']);
  });

  test('unknown configuration keeps its name: `obj-$(CONFIG_X)`, `$(CONFIG_X:m=y)`, `$(subst m,y,$(CONFIG_X))`; `$(shell)` is never run', () => {
    const modules = parseKbuild([
      'obj-$(CONFIG_A) += a.o',
      'obj-$(subst m,y,$(CONFIG_B)) += b.o',
      'obj-$(CONFIG_LOCAL) += local.o',
      'CONFIG_LOCAL := m',
      'a-$(CONFIG_A_EXTRA:m=y) += a_extra.o',
      'a-y += a_main.o $(shell touch /tmp/never-run-by-lkm).o',
    ].join('\n'), '/w/drv', memoryFiles({}));
    assert.deepEqual([...modules], [['a', ['a_extra.o', 'a_main.o']], ['b', ['b.o']], ['local', ['local.o']]]);
    assert.equal(fs.existsSync('/tmp/never-run-by-lkm'), false);
  });

  test('wildcard lists existing files relative to the tree, sorted', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-wild-'));
    for (const name of ['b.c', 'a.c', 'notes.txt']) fs.writeFileSync(path.join(dir, name), '');
    const modules = parseKbuild('obj-m += drv.o\ndrv-y := $(patsubst %.c,%.o,$(notdir $(wildcard $(src)/*.c $(src)/missing.c)))\n', dir);
    assert.deepEqual(modules.get('drv'), ['a.o', 'b.o']);
    fs.rmSync(dir, { recursive: true });
  });
});

describe('included fragments', () => {
  test('include of an expanded list of Makefiles, relative to the tree root, with variables of the includer', () => {
    const files = {
      '/w/drv/frag/one.mk': 'ONE = one.o\nFILES += $(addprefix $(FRAG)/,$(ONE))\n',
      '/w/drv/frag/two.mk': 'FILES += $(FRAG)/two.o\n',
    };
    const text = ['FRAG = frag', 'PARTS = one two', 'include $(addsuffix .mk,$(addprefix $(src)/frag/,$(PARTS)))', 'obj-m += drv.o', 'drv-y += $(FILES)'].join('\n');
    assert.deepEqual(objectsOf(text, 'drv', files), ['frag/one.o', 'frag/two.o']);
  });

  test('amdgpu layout: files of fragment directories in a sibling branch join the module that includes them', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-amd-'));
    const write = (file: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      fs.writeFileSync(path.join(root, file), text);
    };
    // The tree root: a Makefile with VERSION and PATCHLEVEL, as Linux's.
    write('Makefile', 'VERSION = 6\nPATCHLEVEL = 1\n');
    write('drivers/Makefile', 'obj-y += gpu/\n');
    write('drivers/gpu/amd/amdgpu/Makefile', [
      'FULL_AMD_PATH=$(srctree)/$(src)/..',
      'DISPLAY_FOLDER_NAME=display',
      'FULL_AMD_DISPLAY_PATH = $(FULL_AMD_PATH)/$(DISPLAY_FOLDER_NAME)',
      'amdgpu-y := amdgpu_drv.o',
      'AMDKFD_PATH := ../amdkfd',
      'include $(FULL_AMD_PATH)/amdkfd/Makefile',
      'amdgpu-y += $(AMDKFD_FILES)',
      'ifneq ($(CONFIG_DRM_AMD_DC),)',
      'RELATIVE_AMD_DISPLAY_PATH = ../$(DISPLAY_FOLDER_NAME)',
      'include $(FULL_AMD_DISPLAY_PATH)/Makefile',
      'amdgpu-y += $(AMD_DISPLAY_FILES)',
      'endif',
      'obj-$(CONFIG_DRM_AMDGPU)+= amdgpu.o',
    ].join('\n'));
    write('drivers/gpu/amd/amdkfd/Makefile', 'AMDKFD_FILES := $(AMDKFD_PATH)/kfd_module.o\n');
    write('drivers/gpu/amd/display/Makefile', 'AMDDALPATH = $(RELATIVE_AMD_DISPLAY_PATH)\nDAL_LIBS = dc\nAMD_DAL = $(addsuffix /Makefile, $(addprefix $(FULL_AMD_DISPLAY_PATH)/,$(DAL_LIBS)))\ninclude $(AMD_DAL)\n');
    write('drivers/gpu/amd/display/dc/Makefile', 'DC_LIBS = dcn30\nAMD_DC = $(addsuffix /Makefile, $(addprefix $(FULL_AMD_DISPLAY_PATH)/dc/,$(DC_LIBS)))\ninclude $(AMD_DC)\n');
    write('drivers/gpu/amd/display/dc/dcn30/Makefile', 'DCN30 = dcn30_hubp.o\nAMD_DAL_DCN30 = $(addprefix $(AMDDALPATH)/dc/dcn30/,$(DCN30))\nAMD_DISPLAY_FILES += $(AMD_DAL_DCN30)\n');
    for (const file of ['drivers/gpu/amd/amdgpu/amdgpu_drv.c', 'drivers/gpu/amd/amdkfd/kfd_module.c', 'drivers/gpu/amd/display/dc/dcn30/dcn30_hubp.c', 'drivers/gpu/amd/display/dc/dcn30/unlisted.c']) write(file, '');
    const inRoot = (file: string) => path.join(root, file);

    // Only the fragment directory's files given (a sub-folder run, or the editor): amdgpu is found.
    const modules = discoverModules([inRoot('drivers/gpu/amd/display/dc/dcn30/dcn30_hubp.c'), inRoot('drivers/gpu/amd/display/dc/dcn30/unlisted.c')]);
    const amdgpu = modules.find((m) => m.name === 'amdgpu');
    assert.deepEqual(amdgpu?.files.map((f) => path.relative(root, f)).sort(), [
      'drivers/gpu/amd/amdgpu/amdgpu_drv.c', 'drivers/gpu/amd/amdkfd/kfd_module.c', 'drivers/gpu/amd/display/dc/dcn30/dcn30_hubp.c',
    ]);
    assert.equal(amdgpu?.listedBy, 'obj-$(CONFIG_DRM_AMDGPU)');
    // A file no Makefile lists stays a module of its own.
    assert.deepEqual(modules.filter((m) => m !== amdgpu).map((m) => m.name), ['unlisted']);
    assert.deepEqual(discoverModules([inRoot('drivers/gpu/amd/amdkfd/kfd_module.c')]).map((m) => m.name), ['amdgpu']);
    fs.rmSync(root, { recursive: true });
  });
});

describe('#included .c files', () => {
  test('a .c file included from a parent directory, or through the module\'s include path from a sibling directory, joins the includer\'s module', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-incl-'));
    for (const sub of ['selftests', 'gt']) fs.mkdirSync(path.join(dir, sub));
    fs.writeFileSync(path.join(dir, 'Makefile'), 'obj-m += i915.o\ni915-y := i915_vma.o gt/intel_gtt.o\n');
    fs.writeFileSync(path.join(dir, 'i915_vma.c'), '#include "selftests/i915_vma.c"\n');
    fs.writeFileSync(path.join(dir, 'gt', 'intel_gtt.c'), '#include "selftests/mock_gtt.c"\n');
    for (const name of ['i915_vma.c', 'mock_gtt.c', 'standalone.c']) fs.writeFileSync(path.join(dir, 'selftests', name), '');
    const modules = discoverModules(['i915_vma.c', 'gt/intel_gtt.c', 'selftests/i915_vma.c', 'selftests/mock_gtt.c', 'selftests/standalone.c'].map((f) => path.join(dir, f)));
    assert.deepEqual(modules.map((m) => m.name).sort(), ['i915', 'standalone']);
    const relative = (module: ModuleSpec | undefined) => module?.files.map((f) => path.relative(dir, f)).sort();
    // They are compiled as part of their includer: the includer's module lints them.
    assert.deepEqual(relative(modules.find((m) => m.name === 'i915')), ['gt/intel_gtt.c', 'i915_vma.c', 'selftests/i915_vma.c', 'selftests/mock_gtt.c']);
    // The editor asks with the file's directory only (selftests/): the includers' module is looked up.
    assert.deepEqual(relative(moduleOf(path.join(dir, 'selftests', 'mock_gtt.c'))), ['gt/intel_gtt.c', 'i915_vma.c', 'selftests/i915_vma.c', 'selftests/mock_gtt.c']);
    assert.equal(moduleOf(path.join(dir, 'selftests', 'standalone.c')).name, 'standalone');
    fs.rmSync(dir, { recursive: true });
  });
});

describe('files a module has only under an option', () => {
  test('`<mod>-$(CONFIG_X) += f.o` is built only when the target sets X', () => {
    const files: Record<string, string> = {
      '/w/nvme/Makefile': 'obj-$(CONFIG_NVME_CORE) += nvme-core.o\nnvme-core-y := core.o\nnvme-core-$(CONFIG_NVME_AUTH) += auth.o\nnvme-core-$(CONFIG_NVME_HWMON) += hwmon.o core.o\n',
      '/w/nvme/core.c': '', '/w/nvme/auth.c': '', '/w/nvme/hwmon.c': '',
    };
    const [module] = discoverModules(['/w/nvme/core.c', '/w/nvme/auth.c', '/w/nvme/hwmon.c'], memoryFiles(files));
    assert.ok(module);
    assert.deepEqual(module.conditionalFiles, { '/w/nvme/auth.c': 'CONFIG_NVME_AUTH', '/w/nvme/hwmon.c': 'CONFIG_NVME_HWMON' }, 'core.o is also listed unconditionally');
    const config = new Map([['CONFIG_NVME_CORE', 'm'], ['CONFIG_NVME_HWMON', 'y']]);
    assert.equal(fileIsBuilt(module, '/w/nvme/auth.c', config), false);
    assert.equal(fileIsBuilt(module, '/w/nvme/hwmon.c', config), true);
    assert.equal(fileIsBuilt(module, '/w/nvme/core.c', config), true);
    assert.equal(fileIsBuilt(module, '/w/nvme/auth.c', undefined), true, 'without a .config it may be built');
  });
});
