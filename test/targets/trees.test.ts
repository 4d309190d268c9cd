// Module folders laid out as real projects are: Makefiles that reach outside the folder for shared
// headers. Built on this machine against the test guest's headers (never loaded here).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { guestKdir } from '../../client/src/core/targets/kdir';
import { buildLocally, outsideReferences } from '../../client/src/core/targets/session';

const source = (name: string) =>
  `#include <linux/module.h>\n#include "shared.h"\nstatic int __init ${name}_init(void) { pr_info("${name}: %d\\n", SHARED_VALUE); return 0; }\nstatic void __exit ${name}_exit(void) {}\nmodule_init(${name}_init);\nmodule_exit(${name}_exit);\nMODULE_LICENSE("GPL");\n`;

/** proj/include/shared.h, and proj/drivers/<name>/ whose Makefile reaches ../../include with `flags`. */
function project(flags: string, name: string): { root: string; folder: string } {
  const root = mkdtempSync(path.join(tmpdir(), 'lkm-proj-'));
  mkdirSync(path.join(root, 'include'));
  writeFileSync(path.join(root, 'include', 'shared.h'), '#define SHARED_VALUE 7\n');
  const folder = path.join(root, 'drivers', name);
  mkdirSync(folder, { recursive: true });
  writeFileSync(path.join(folder, 'Makefile'), `obj-m := ${name}.o\n${flags}\n`);
  writeFileSync(path.join(folder, `${name}.c`), source(name));
  return { root, folder };
}

describe('a Makefile that reaches outside its folder', { timeout: 600_000 }, () => {
  it('finds the paths it references and how far up they climb', () => {
    const { root, folder } = project('ccflags-y += -I$(src)/../../include -I$(src)/../../missing\nEXTRA_CFLAGS += -I$(PWD)/..', 'refs');
    assert.deepEqual(outsideReferences(folder), { levelsUp: 2, paths: [path.join(root, 'include')] });
  });

  for (const [flags, name] of [['ccflags-y += -I$(src)/../../include', 'via_src'], ['EXTRA_CFLAGS += -I$(PWD)/../../include', 'via_pwd']]) {
    it(`builds as it does in place: ${flags}`, async () => {
      const { root, folder } = project(flags, name);
      const built = await buildLocally(await guestKdir(), folder, {});
      assert.ok(built.ok, built.output.slice(-3000));
      assert.deepEqual(built.modules.map((m) => m.name), [name]);
      // An error in the shared header is reported at the workspace's header.
      writeFileSync(path.join(root, 'include', 'shared.h'), '#define SHARED_VALUE 7\nint broken(void) { return nope; }\n');
      const failed = await buildLocally(await guestKdir(), folder, {});
      assert.equal(failed.ok, false);
      const error = failed.problems.find((p) => p.severity === 'error');
      assert.equal(error?.file, path.join(root, 'include', 'shared.h'), failed.output.slice(-2000));
      assert.equal(error?.line, 2);
    });
  }
});
