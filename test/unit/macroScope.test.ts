// macroScope: which names a file's compilation defines for sure, nowhere, or maybe.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { loadKernelTarget } from '../../server/src/analysis/kernelTarget';
import { macroPresenceFor } from '../../server/src/analysis/macroScope';

const KDIR_MINI = path.join(__dirname, '..', 'fixtures', 'kdir-mini');

test('kbuild and compiler names, the kdir\'s, Kbuild -D flags, included headers, an include found nowhere', () => {
  const target = loadKernelTarget(KDIR_MINI, { cacheDir: fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-scope-cache-')) });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-scope-'));
  fs.writeFileSync(path.join(dir, 'Kbuild'), 'obj-m += m.o\nccflags-y += -DALWAYS_ON\nifdef CONFIG_X\nccflags-y += -DSOMETIMES\nendif\n');
  fs.writeFileSync(path.join(dir, 'own.h'), '#define FROM_OWN_HEADER 1\n');
  fs.writeFileSync(path.join(dir, 'other.h'), '#define FROM_OTHER_HEADER 1\n');
  const file = path.join(dir, 'm.c');
  const presence = macroPresenceFor(file, '#include <linux/module.h>\n#include "own.h"\n', target);
  assert.equal(presence('__KERNEL__'), true);
  assert.equal(presence('KBUILD_MODNAME'), true);
  assert.equal(presence('__CHECKER__'), false);
  assert.equal(presence('ALWAYS_ON'), true);
  assert.equal(presence('SOMETIMES'), undefined);
  assert.equal(presence('KERN_INFO'), undefined); // the kdir's printk.h defines it
  assert.equal(presence('FROM_OWN_HEADER'), undefined);
  assert.equal(presence('FROM_OTHER_HEADER'), false); // beside the file, not included
  assert.equal(presence('NEVER_DEFINED_ANYWHERE'), false);
  assert.equal(presence('__SOME_COMPILER_NAME__'), undefined);
  // A quoted include found nowhere may define anything.
  assert.equal(macroPresenceFor(file, '#include "generated_elsewhere.h"\n', target)('NEVER_DEFINED_ANYWHERE'), undefined);
  // Without a kdir, nothing is known to be defined nowhere.
  assert.equal(macroPresenceFor(file, '', undefined)('NEVER_DEFINED_ANYWHERE'), undefined);
  assert.equal(macroPresenceFor(file, '', undefined)('ALWAYS_ON'), true);
});
