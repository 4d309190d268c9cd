// Where a module's sections are in the guest's memory, for `add-symbol-file MOD.ko -s SECTION ADDR...`.
// A relocatable .ko has every section at address 0; the kernel places each one when it loads the
// module and publishes the addresses in /sys/module/NAME/sections/*. Two ways to read that table:
// - a module already loaded: the sysfs files, over the guest's ssh;
// - a module being loaded under the debugger (so that breakpoints in its init work): the same table
//   in memory (`mod->sect_attrs`, filled before `do_init_module(mod)` runs init), read by gdb at a
//   breakpoint on do_init_module, with the struct offsets taken from the kernel's own BTF.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { ElfFile } from '../targets/elf';
import type { SshConnection } from '../targets/ssh';
import { shellQuote } from '../targets/quote';
import { Btf } from './btf';
import { cQuote } from './mi';

const SHF_ALLOC = 2;
/** Sections the kernel reads at load but does not keep (it clears their SHF_ALLOC). */
const DROPPED_AT_LOAD = new Set(['.modinfo', '__versions']);
const SECTION_NAME = /^[\w.$-]+$/;

/** The .ko's sections that are laid out in memory (those sysfs lists), .text first. */
export function loadedSectionNames(koPath: string): string[] {
  const names = ElfFile.read(koPath)
    .sections.filter((s) => s.flags & SHF_ALLOC && s.size > 0 && !DROPPED_AT_LOAD.has(s.name) && SECTION_NAME.test(s.name))
    .map((s) => s.name);
  return [...names.filter((n) => n === '.text'), ...names.filter((n) => n !== '.text')];
}

/** `add-symbol-file` with each section's address (sections the kernel did not list are left out). */
export function addSymbolFileCommand(koPath: string, addresses: Map<string, string>): string {
  const parts = [`add-symbol-file ${cQuote(koPath)}`];
  for (const name of loadedSectionNames(koPath)) {
    const address = addresses.get(name);
    if (address) parts.push(`-s ${name} ${address}`);
  }
  return parts.join(' ');
}

/** Section addresses of a loaded module from /sys/module/NAME/sections (what the target says is checked). */
export async function readSysfsSections(connection: SshConnection, moduleName: string, signal?: AbortSignal): Promise<Map<string, string>> {
  if (!/^\w+$/.test(moduleName)) throw new Error(`invalid module name ${JSON.stringify(moduleName)}`);
  const dir = shellQuote(`/sys/module/${moduleName}/sections`);
  const result = await connection.exec(`cd ${dir} && for f in .* *; do [ -f "$f" ] && printf '%s %s\\n' "$f" "$(cat "$f")"; done`, { timeoutMs: 15_000, signal });
  if (result.code !== 0) throw new Error(`${moduleName} is not loaded on the guest (no /sys/module/${moduleName}/sections)`);
  const addresses = new Map<string, string>();
  for (const line of result.stdout.split('\n')) {
    const m = /^(\S+) (0x[0-9a-f]{1,16})$/.exec(line);
    if (m && SECTION_NAME.test(m[1])) addresses.set(m[1], m[2]);
  }
  if (addresses.size === 0 || [...addresses.values()].every((a) => /^0x0+$/.test(a))) throw new Error(`/sys/module/${moduleName}/sections lists no addresses (is kptr_restrict hiding them?)`);
  return addresses;
}

/** Struct offsets the in-memory read needs, from the guest kernel's BTF. */
export interface SectAttrLayout {
  moduleName: number;
  moduleSectAttrs: number;
  nsections: number;
  attrs: number;
  attrSize: number;
  attrName: number;
  attrAddress: number;
}

/**
 * The offsets from the guest kernel's BTF. Parsing reads the whole 65 MB vmlinux (~1.5 s, blocking):
 * the result is kept beside it, keyed by the file's size and mtime.
 */
export function sectAttrLayout(vmlinuxPath: string): SectAttrLayout {
  const stat = statSync(vmlinuxPath);
  const key = `${stat.size}:${stat.mtimeMs}`;
  const cacheFile = `${vmlinuxPath}.sect-attrs.json`;
  if (existsSync(cacheFile)) {
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as { key: string; layout: SectAttrLayout };
    if (cached.key === key) return cached.layout;
  }
  const data = ElfFile.read(vmlinuxPath).sectionBytes('.BTF');
  if (!data) throw new Error(`${vmlinuxPath} has no .BTF section: the debugger cannot find module sections before init`);
  const btf = new Btf(data);
  const layout: SectAttrLayout = {
    moduleName: btf.offsetOf('module', 'name'),
    moduleSectAttrs: btf.offsetOf('module', 'sect_attrs'),
    nsections: btf.offsetOf('module_sect_attrs', 'nsections'),
    attrs: btf.offsetOf('module_sect_attrs', 'attrs'),
    attrSize: btf.sizeOf('module_sect_attr'),
    attrName: btf.offsetOf('module_sect_attr', 'battr.attr.name'),
    attrAddress: btf.offsetOf('module_sect_attr', 'address'),
  };
  writeFileSync(cacheFile, JSON.stringify({ key, layout }));
  return layout;
}

/**
 * The order of the kernel's section table (/sys/module/NAME/sections, `mod->sect_attrs`): the .ko's
 * sections in file order that are in memory after the load — SHF_ALLOC and not empty — where the
 * loader drops .modinfo, __versions and the per-CPU section's SHF_ALLOC and adds it to .symtab and
 * .strtab (kept for kallsyms). kernel/module/sysfs.c add_sect_attrs, main.c rewrite_section_headers.
 */
export function sectAttrOrder(koPath: string): string[] {
  return ElfFile.read(koPath)
    .sections.filter((s) => s.size > 0 && ((s.flags & SHF_ALLOC && !DROPPED_AT_LOAD.has(s.name) && s.name !== '.data..percpu') || s.name === '.symtab' || s.name === '.strtab'))
    .map((s) => s.name);
}

/**
 * gdb commands that stop at `do_init_module` when MODULE is loaded, add its symbols from the
 * section table in memory, and continue: pending breakpoints in the module (init included) then
 * resolve before its init runs. `doInitModule` is the function's address from /proc/kallsyms.
 * The table is indexed by the order sectAttrOrder predicts (string compares over the gdbstub cost
 * ~50 ms each), checked by its length and one name (.text, or the first section of a module without one).
 */
export function loaderScript(koPath: string, moduleName: string, doInitModule: string, layout: SectAttrLayout): string {
  const order = sectAttrOrder(koPath);
  const sections = loadedSectionNames(koPath).filter((name) => order.includes(name));
  if (sections.length === 0) throw new Error(`${koPath} has no sections the kernel loads`);
  const entry = (name: string) => `($lkm_sa + ${layout.attrs} + ${order.indexOf(name) * layout.attrSize})`;
  // The path is a C string inside eval's format string: its quotes escaped once more, and % doubled.
  const format = [`add-symbol-file ${cQuote(koPath.replace(/%/g, '%%'))}`, ...sections.map((name) => `-s ${name} 0x%lx`)].join(' ').replace(/[\\"]/g, '\\$&');
  return [
    'define lkm-add-module-symbols',
    `  set $lkm_sa = *(unsigned long *)($rdi + ${layout.moduleSectAttrs})`,
    `  if *(unsigned int *)($lkm_sa + ${layout.nsections}) == ${order.length} && $_streq(*(char **)(${entry(sections[0])} + ${layout.attrName}), ${cQuote(sections[0])})`,
    `    eval "${format}", ${sections.map((name) => `*(unsigned long *)(${entry(name)} + ${layout.attrAddress})`).join(', ')}`,
    '  else',
    `    echo lkm: the kernel's section table of ${moduleName} is not laid out as expected: no symbols added\\n`,
    '  end',
    'end',
    `break *${doInitModule} if $_streq((char *)($rdi + ${layout.moduleName}), ${cQuote(moduleName)})`,
    'commands',
    '  silent',
    '  lkm-add-module-symbols',
    '  continue',
    'end',
  ].join('\n');
}
