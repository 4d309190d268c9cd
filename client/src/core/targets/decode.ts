// Decodes call-trace frames `func+0xoff/0xlen [module]` to source file:line from the built .ko's
// debug info: the symbol's section and value come from the ELF symbol table, and addr2line looks up
// the section offset (`-j`), since every section of a relocatable .ko starts at address 0.
import { ElfFile } from './elf';
import { runProcess } from './process';
import { mapPath, type Frame, type PathMapping } from './problems';

export interface ModuleDebugInfo {
  /** The module's name as the kernel prints it (underscores). */
  name: string;
  koPath: string;
  mappings: PathMapping[];
}

export async function decodeFrames(frames: Frame[], modules: ModuleDebugInfo[], signal?: AbortSignal): Promise<void> {
  const byModule = new Map(modules.map((m) => [m.name, m]));
  const symbolCache = new Map<string, ReturnType<ElfFile['symbols']>>();
  // One addr2line run per (module, section) with all its addresses.
  const groups = new Map<string, { module: ModuleDebugInfo; section: string; items: Array<{ frame: Frame; address: number }> }>();
  for (const frame of frames) {
    const module = frame.module ? byModule.get(frame.module) : undefined;
    if (!module) continue;
    let symbols = symbolCache.get(module.koPath);
    if (!symbols) {
      symbols = ElfFile.read(module.koPath).symbols();
      symbolCache.set(module.koPath, symbols);
    }
    const symbol = symbols.find((s) => s.name === frame.func && s.section.includes('text'));
    if (!symbol) continue;
    // A return address points after the call; step back into the call instruction's line.
    const address = symbol.value + frame.offset - (frame.isFaultingIp || frame.offset === 0 ? 0 : 1);
    const key = `${module.koPath}\0${symbol.section}`;
    const group = groups.get(key) ?? { module, section: symbol.section, items: [] };
    group.items.push({ frame, address });
    groups.set(key, group);
  }
  for (const { module, section, items } of groups.values()) {
    const result = await runProcess('addr2line', ['-e', module.koPath, '-j', section, ...items.map((i) => `0x${i.address.toString(16)}`)], {
      timeoutMs: 15_000,
      signal,
    });
    if (result.code !== 0) continue;
    const answers = result.stdout.split('\n');
    items.forEach((item, index) => {
      const m = /^(.*):(\d+)/.exec(answers[index] ?? '');
      if (!m || m[1] === '??' || m[2] === '0') return;
      item.frame.file = mapPath(m[1], module.mappings);
      item.frame.line = Number(m[2]);
    });
  }
}
