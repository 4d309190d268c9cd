// A minimal reader for the parts of an ELF64 little-endian kernel module (.ko) the loop needs:
// the `.modinfo` key=value strings (name, depends, parm, parmtype) and the symbol table (to turn
// `func+0xoff` call-trace frames into section offsets for addr2line). Reading the file directly
// avoids depending on kmod's `modinfo`, which the host does not need to have.
import { readFileSync } from 'node:fs';

export interface ElfSection {
  name: string;
  offset: number;
  size: number;
  /** sh_flags: SHF_ALLOC (2) marks what the kernel lays out in memory when it loads a module. */
  flags: number;
}

export interface ElfSymbol {
  name: string;
  value: number;
  size: number;
  section: string;
}

export interface KernelModuleInfo {
  /** Every `.modinfo` entry in file order; keys repeat (parm, alias, ...). */
  entries: Array<[string, string]>;
  name: string;
  depends: string[];
  params: ModuleParam[];
}

export interface ModuleParam {
  name: string;
  type: string;
  description: string;
}

export class ElfFile {
  readonly sections: ElfSection[];

  private constructor(private readonly data: Buffer, readonly path: string) {
    this.sections = this.readSections();
  }

  static read(path: string): ElfFile {
    const data = readFileSync(path);
    if (data.length < 64 || data.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${path}: not an ELF file`);
    if (data[4] !== 2 || data[5] !== 1) throw new Error(`${path}: only 64-bit little-endian ELF files are supported`);
    return new ElfFile(data, path);
  }

  section(name: string): ElfSection | undefined {
    return this.sections.find((s) => s.name === name);
  }

  sectionBytes(name: string): Buffer | undefined {
    const s = this.section(name);
    return s ? this.data.subarray(s.offset, s.offset + s.size) : undefined;
  }

  symbols(): ElfSymbol[] {
    const symtabIndex = this.rawSections().findIndex((s) => s.type === 2 /* SHT_SYMTAB */);
    if (symtabIndex < 0) return [];
    const raw = this.rawSections();
    const symtab = raw[symtabIndex];
    const strtab = raw[symtab.link];
    const result: ElfSymbol[] = [];
    for (let off = symtab.offset; off + 24 <= symtab.offset + symtab.size; off += 24) {
      const nameOffset = this.data.readUInt32LE(off);
      const shndx = this.data.readUInt16LE(off + 6);
      if (nameOffset === 0 || shndx === 0 || shndx >= 0xff00) continue;
      result.push({
        name: this.cString(strtab.offset + nameOffset),
        value: Number(this.data.readBigUInt64LE(off + 8)),
        size: Number(this.data.readBigUInt64LE(off + 16)),
        section: this.sections[shndx]?.name ?? '',
      });
    }
    return result;
  }

  private rawSections(): Array<{ nameOffset: number; type: number; flags: number; offset: number; size: number; link: number }> {
    const shoff = Number(this.data.readBigUInt64LE(0x28));
    const shentsize = this.data.readUInt16LE(0x3a);
    const shnum = this.data.readUInt16LE(0x3c);
    const list = [];
    for (let i = 0; i < shnum; i++) {
      const base = shoff + i * shentsize;
      list.push({
        nameOffset: this.data.readUInt32LE(base),
        type: this.data.readUInt32LE(base + 4),
        flags: Number(this.data.readBigUInt64LE(base + 8)),
        offset: Number(this.data.readBigUInt64LE(base + 0x18)),
        size: Number(this.data.readBigUInt64LE(base + 0x20)),
        link: this.data.readUInt32LE(base + 0x28),
      });
    }
    return list;
  }

  private readSections(): ElfSection[] {
    const raw = this.rawSections();
    const shstrndx = this.data.readUInt16LE(0x3e);
    const names = raw[shstrndx];
    return raw.map((s) => ({ name: names ? this.cString(names.offset + s.nameOffset) : '', offset: s.offset, size: s.size, flags: s.flags }));
  }

  private cString(at: number): string {
    const end = this.data.indexOf(0, at);
    return this.data.toString('utf8', at, end < 0 ? this.data.length : end);
  }
}

/** Reads a module's `.modinfo` (what `modinfo file.ko` prints) from the built file. */
export function readModuleInfo(koPath: string): KernelModuleInfo {
  const elf = ElfFile.read(koPath);
  const bytes = elf.sectionBytes('.modinfo');
  if (!bytes) throw new Error(`${koPath}: no .modinfo section (not a kernel module?)`);
  const entries: Array<[string, string]> = [];
  for (const item of bytes.toString('utf8').split('\0')) {
    const eq = item.indexOf('=');
    if (eq > 0) entries.push([item.slice(0, eq), item.slice(eq + 1)]);
  }
  const get = (key: string) => entries.filter(([k]) => k === key).map(([, v]) => v);
  const fileName = koPath.replace(/^.*\//, '').replace(/\.ko$/, '');
  const types = new Map(get('parmtype').map((v) => [v.slice(0, v.indexOf(':')), v.slice(v.indexOf(':') + 1)]));
  const descriptions = new Map(get('parm').map((v) => [v.slice(0, v.indexOf(':')), v.slice(v.indexOf(':') + 1)]));
  const paramNames = [...new Set([...types.keys(), ...descriptions.keys()])];
  return {
    entries,
    // Kernel module names use '_' where file names may use '-'.
    name: (get('name')[0] ?? fileName).replace(/-/g, '_'),
    depends: (get('depends')[0] ?? '').split(',').filter(Boolean).map((d) => d.replace(/-/g, '_')),
    params: paramNames.map((name) => ({ name, type: types.get(name) ?? 'unknown', description: descriptions.get(name) ?? '' })),
  };
}
