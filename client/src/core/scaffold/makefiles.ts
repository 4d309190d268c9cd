// Makefile and Kbuild text for generated modules, in the usual two-pass form: kbuild reads the
// `obj-m` part (KERNELRELEASE is set), a plain `make` in the module folder runs the other part.
import type { FragmentSnippet, Placeholder } from './template';

const namePlaceholder: Placeholder = { key: 'name', default: 'lkm_example' };

/** `objects` (object files of a multi-file module) may use `{{name}}`; absent for one source file. */
export function makefileText(objects?: readonly string[]): string {
  const kbuildLines = [`obj-m := {{name}}.o`];
  if (objects) kbuildLines.push(`{{name}}-y := ${objects.join(' ')}`);
  return [
    '# Kernel module {{name}}: `make` builds {{name}}.ko against the running kernel,',
    '# `make KDIR=/path/to/kernel/build` against another one.',
    'ifneq ($(KERNELRELEASE),)',
    ...kbuildLines,
    'else',
    'KDIR ?= /lib/modules/$(shell uname -r)/build',
    // PWD from the environment is wrong under `make -C dir`; CURDIR is where this Makefile runs.
    'PWD := $(CURDIR)',
    '',
    'all:',
    '\t$(MAKE) -C $(KDIR) M=$(PWD) modules',
    '',
    'clean:',
    '\t$(MAKE) -C $(KDIR) M=$(PWD) clean',
    '',
    '.PHONY: all clean',
    'endif',
    '',
  ].join('\n');
}

export const multiFileObjects = ['{{name}}_main.o', '{{name}}_util.o'] as const;

export const gitignoreText = [
  '# kbuild products',
  '*.o',
  '*.ko',
  '*.mod',
  '*.mod.c',
  '.*.cmd',
  '.*.d',
  '.tmp_versions/',
  'modules.order',
  'Module.symvers',
  '# the compilation database LKM Dev writes for clangd and the C/C++ extension (`lkm compdb`)',
  'compile_commands.json',
  '',
].join('\n');

export const makefileSnippets: readonly FragmentSnippet[] = [
  {
    prefix: 'lkm-makefile',
    label: 'Kernel module Makefile',
    detail: 'Makefile for a single-file module: KDIR ?= the running kernel, all and clean targets',
    language: 'makefile',
    placeholders: [namePlaceholder],
    text: makefileText(),
  },
  {
    prefix: 'lkm-makefile-multi',
    label: 'Kernel module Makefile (multi-file)',
    detail: 'Makefile for a module linked from several sources: <mod>-y lists the objects',
    language: 'makefile',
    placeholders: [namePlaceholder],
    text: makefileText(multiFileObjects),
  },
  {
    prefix: 'lkm-kbuild',
    label: 'Kbuild file',
    detail: 'Kbuild lines for a module and its compiler flags',
    language: 'makefile',
    placeholders: [namePlaceholder, { key: 'ccflags', default: '-DDEBUG' }],
    text: ['obj-m += {{name}}.o', 'ccflags-y += {{ccflags}}', ''].join('\n'),
  },
];
