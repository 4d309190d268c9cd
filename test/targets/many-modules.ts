// A generated module folder of the kind that broke the loop: one Makefile, many obj-m, one module
// exporting a symbol another uses, and one module made of two source files.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const body = (name: string, extra = '') =>
  `#include <linux/module.h>\n${extra}\nstatic int __init ${name}_init(void) { pr_info("${name}: up\\n"); return 0; }\nstatic void __exit ${name}_exit(void) {}\nmodule_init(${name}_init);\nmodule_exit(${name}_exit);\nMODULE_LICENSE("GPL");\nMODULE_DESCRIPTION("${name}");\n`;

/** `count` modules m00…: m01 uses a symbol of m00; `multi` is built from part1.c and part2.c. */
export function manyModulesFolder(count: number): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'lkm-many-'));
  const names = Array.from({ length: count }, (_, i) => `m${String(i).padStart(2, '0')}`);
  writeFileSync(path.join(dir, 'Makefile'), `obj-m := \\\n${names.map((n) => `\t${n}.o \\\n`).join('')}\tmulti.o\nmulti-objs := part1.o part2.o\n`);
  for (const name of names) {
    const extra = name === 'm00' ? 'int m00_value(void) { return 42; }\nEXPORT_SYMBOL_GPL(m00_value);' : name === 'm01' ? 'int m00_value(void);\nstatic int __maybe_unused used(void) { return m00_value(); }\nstatic int (*keep)(void) __used = used;' : '';
    writeFileSync(path.join(dir, `${name}.c`), body(name, extra));
  }
  writeFileSync(path.join(dir, 'part1.c'), body('multi'));
  writeFileSync(path.join(dir, 'part2.c'), 'int multi_part2(void) { return 2; }\n');
  return dir;
}
