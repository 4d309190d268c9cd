// Decodes call-trace frames `func+0xoff/0xlen [module]` to source file:line from the built .ko's
// debug info: the symbol's section and value come from the ELF symbol table, and addr2line looks up
// the section offset (`-j`), since every section of a relocatable .ko starts at address 0.
// An address in inlined code (a kernel header's helper such as fortify's strlen) resolves through
// the inline chain (`addr2line -i`) to the innermost line in the module's own sources: that line
// called the helper; the header's location stays in the frame's chain.
import { ElfFile } from './elf';
import { runProcess } from './process';
import { mapPath, type Frame, type InlineLocation, type PathMapping } from './problems';

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
    const result = await runProcess('addr2line', ['-a', '-i', '-f', '-e', module.koPath, '-j', section, ...items.map((i) => `0x${i.address.toString(16)}`)], {
      timeoutMs: 15_000,
      signal,
    });
    if (result.code !== 0) continue;
    const chains = parseInlineChains(result.stdout);
    items.forEach((item, index) => placeFrame(item.frame, chains[index] ?? [], module.mappings));
  }
}

/** `addr2line -a -i -f` output: per address, its line `0x…` then func and file:line pairs, innermost first. */
export function parseInlineChains(output: string): InlineLocation[][] {
  const chains: InlineLocation[][] = [];
  const lines = output.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (/^0x[0-9a-f]+$/.test(lines[i])) {
      chains.push([]);
      continue;
    }
    const location = /^(.*):(\d+)(?: \(discriminator \d+\))?$/.exec(lines[i + 1] ?? '');
    if (!chains.length || !location) continue;
    if (location[1] !== '??' && location[2] !== '0') chains[chains.length - 1].push({ func: lines[i], file: location[1], line: Number(location[2]) });
    i++;
  }
  return chains;
}

/** The frame's line: the innermost one in the module's own sources (else the innermost known). */
function placeFrame(frame: Frame, chain: InlineLocation[], mappings: PathMapping[]): void {
  if (!chain.length) return;
  const own = (file: string) => mappings.some((m) => file.startsWith(`${m.from.replace(/\/+$/, '')}/`));
  const mapped = chain.map((l) => ({ ...l, file: mapPath(l.file, mappings) }));
  const at = Math.max(0, chain.findIndex((l) => own(l.file)));
  frame.file = mapped[at].file;
  frame.line = mapped[at].line;
  if (chain.length > 1) frame.inlined = mapped;
}
