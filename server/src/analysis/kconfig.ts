// The types of Kconfig symbols (`config X` / `menuconfig X` followed by `bool`, `tristate`, `def_bool`, …),
// read lazily from the Kconfig files of a source tree: the one beside a Makefile first, then those of
// its parent directories up to the tree root, each with the files it `source`s. A `bool` symbol is `y`
// or `n`, never `m`: what `obj-$(CONFIG_X)` lists for it is built in or not built, never a module.
import * as path from 'node:path';

/** `bool` and `tristate` as Kconfig spells them; `other` for `string`, `int`, `hex`. */
export type KconfigType = 'bool' | 'tristate' | 'other';

export type ReadText = (file: string) => string | undefined;

/** Most files one index reads (a bound for a malformed tree whose `source` lines fan out). */
const MAX_KCONFIG_FILES = 5000;

/** One source tree's Kconfig symbols, read file by file as lookups need them. */
export class KconfigIndex {
  /** Every type a symbol was declared with, over the files read so far. */
  private readonly types = new Map<string, Set<KconfigType>>();
  private readonly loaded = new Set<string>();

  /** `srctree`: where `source "drivers/…/Kconfig"` paths start (the kernel tree root). */
  constructor(private readonly srctree: string, private readonly readFile: ReadText) {}

  /**
   * The type of `symbol` (with or without `CONFIG_`) as declared in the Kconfig of `dir` or of one of
   * its parents up to the tree root, or in a file they source; undefined when no file read declares it.
   * A symbol declared both `bool` and `tristate` (by different architectures) counts as `tristate`.
   */
  typeOf(symbol: string, dir: string): KconfigType | undefined {
    const name = symbol.replace(/^CONFIG_/, '');
    const root = path.resolve(this.srctree);
    for (let current = path.resolve(dir); ; current = path.dirname(current)) {
      if (this.types.has(name)) break;
      this.load(path.join(current, 'Kconfig'));
      // Stop at the tree root, and outside it (a directory not under the root has only its own Kconfig).
      if (current === root || !current.startsWith(`${root}${path.sep}`)) break;
    }
    const declared = this.types.get(name);
    if (!declared) return undefined;
    return declared.has('tristate') ? 'tristate' : declared.has('bool') ? 'bool' : 'other';
  }

  private load(file: string): void {
    if (this.loaded.has(file) || this.loaded.size >= MAX_KCONFIG_FILES) return;
    this.loaded.add(file);
    const text = this.readFile(file);
    if (text === undefined) return;
    let entry: string | undefined;
    /** Indentation of the `help` keyword while reading its text (more indented lines), else undefined. */
    let helpIndent: number | undefined;
    for (const line of text.replace(/\\\r?\n/g, ' ').split(/\r?\n/)) {
      if (helpIndent !== undefined) {
        if (!line.trim() || indentation(line) > helpIndent) continue;
        helpIndent = undefined;
      }
      if (/^\s*(?:help|---help---)\s*$/.test(line)) {
        helpIndent = indentation(line);
        continue;
      }
      const config = /^\s*(?:menu)?config\s+(\w+)\s*$/.exec(line);
      if (config) {
        entry = config[1]!;
        continue;
      }
      const type = /^\s*(bool|def_bool|tristate|def_tristate|string|int|hex)\b/.exec(line)?.[1];
      if (type && entry) {
        const kind: KconfigType = type.endsWith('bool') ? 'bool' : type.endsWith('tristate') ? 'tristate' : 'other';
        let declared = this.types.get(entry);
        if (!declared) this.types.set(entry, (declared = new Set()));
        declared.add(kind);
        continue;
      }
      const source = /^\s*(o?)(r?)source\s+"([^"]+)"/.exec(line);
      if (source) {
        entry = undefined;
        const target = source[3]!;
        // `$(SRCARCH)` and globs name several trees: not followed.
        if (/[$*?[]/.test(target)) continue;
        this.load(source[2] ? path.resolve(path.dirname(file), target) : path.resolve(this.srctree, target));
        continue;
      }
      // A block keyword ends the entry whose type lines we were reading.
      if (/^\s*(?:menu|endmenu|choice|endchoice|if|endif|comment|mainmenu)\b/.test(line)) entry = undefined;
    }
  }
}

/** A line's indentation in columns, tabs to the next multiple of 8 (as Kconfig's help text is measured). */
function indentation(line: string): number {
  let column = 0;
  for (const char of line) {
    if (char === ' ') column++;
    else if (char === '\t') column = column - (column % 8) + 8;
    else break;
  }
  return column;
}
