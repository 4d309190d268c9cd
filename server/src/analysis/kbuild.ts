// Which C files form one kernel module, read from Kbuild files the way kbuild reads them: `Kbuild` if the
// directory has one, else `Makefile`; `obj-m`/`obj-y`/`obj-$(CONFIG_X)` name the modules (`foo.o`), and
// `foo-objs`/`foo-y`/`foo-$(CONFIG_X)` list a composite module's objects. A `.c` file that no Kbuild
// claims is a module of its own, named after the file.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface ModuleSpec {
  /** The module's name (`foo` for `foo.ko`). */
  name: string;
  /** The directory of its Kbuild (or of the lone `.c` file). */
  dir: string;
  /** Absolute paths of its `.c` files. */
  files: string[];
  /** The Kbuild or Makefile that defines it; absent for a lone `.c` file. */
  kbuildFile?: string;
}

/** Reads a file; undefined when it does not exist or cannot be read. */
export type ReadFile = (file: string) => string | undefined;

export const readFileIfPresent: ReadFile = (file) => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};

/** How many directories above a `.c` file may hold the Kbuild that lists it (`obj-m += x.o; x-y := sub/a.o`). */
const KBUILD_SEARCH_LEVELS = 2;

interface KbuildModules {
  file: string;
  /** Module name → object paths relative to the Kbuild's directory (`a.o`, `sub/b.o`). */
  modules: Map<string, string[]>;
}

/**
 * Groups C files into modules. Returns only modules that contain at least one of `cFiles`; a module's
 * other files are included when they exist (checked with `readFile`).
 */
export function discoverModules(cFiles: string[], readFile: ReadFile = readFileIfPresent): ModuleSpec[] {
  const wanted = new Set(cFiles.map((file) => path.resolve(file)));
  const kbuildCache = new Map<string, KbuildModules | undefined>();
  const kbuildIn = (dir: string): KbuildModules | undefined => {
    if (!kbuildCache.has(dir)) kbuildCache.set(dir, readKbuild(dir, readFile));
    return kbuildCache.get(dir);
  };
  const dirs = new Set<string>();
  for (const file of wanted) {
    let dir = path.dirname(file);
    for (let level = 0; level <= KBUILD_SEARCH_LEVELS; level++) {
      dirs.add(dir);
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  const modules: ModuleSpec[] = [];
  const claimed = new Set<string>();
  for (const dir of [...dirs].sort()) {
    const kbuild = kbuildIn(dir);
    if (!kbuild) continue;
    for (const [name, objects] of kbuild.modules) {
      const files = objects
        .map((object) => path.resolve(dir, object.replace(/\.o$/, '.c')))
        .filter((file) => wanted.has(file) || readFile(file) !== undefined);
      if (!files.some((file) => wanted.has(file))) continue;
      files.forEach((file) => claimed.add(file));
      modules.push({ name, dir, files: [...new Set(files)], kbuildFile: kbuild.file });
    }
  }
  for (const file of [...wanted].sort()) {
    if (claimed.has(file)) continue;
    const dir = path.dirname(file);
    const kbuild = kbuildIn(dir);
    modules.push({ name: path.basename(file, '.c'), dir, files: [file], ...(kbuild ? { kbuildFile: kbuild.file } : {}) });
  }
  return modules;
}

/** The module a C file belongs to, considering the `.c` files of its directory (for the editor). */
export function moduleOf(file: string, readFile: ReadFile = readFileIfPresent): ModuleSpec {
  const absolute = path.resolve(file);
  const dir = path.dirname(absolute);
  let siblings: string[] = [];
  try {
    siblings = fs.readdirSync(dir).filter((name) => name.endsWith('.c')).map((name) => path.join(dir, name));
  } catch {
    // An unsaved or vanished directory: the file alone.
  }
  const modules = discoverModules([absolute, ...siblings], readFile);
  return modules.find((module) => module.files.includes(absolute)) ?? { name: path.basename(absolute, '.c'), dir, files: [absolute] };
}

function readKbuild(dir: string, readFile: ReadFile): KbuildModules | undefined {
  for (const name of ['Kbuild', 'Makefile']) {
    const file = path.join(dir, name);
    const text = readFile(file);
    if (text !== undefined) return { file, modules: parseKbuild(text) };
  }
  return undefined;
}

const TARGET_LIST = /^obj-(?:m|y|\$[({]\w+[)}])$/;
const COMPOSITE_LIST = /^(.+?)-(?:objs|y|m|\$[({]\w+[)}])$/;
/** `<prefix>-y` lists that are not composite objects. */
const NOT_COMPOSITES = new Set(['obj', 'lib', 'subdir', 'ccflags', 'asflags', 'ldflags', 'always', 'extra', 'hostprogs', 'userprogs', 'targets', 'clean', 'header-test', 'ccflags-remove', 'subdir-ccflags']);

/**
 * Parses a Kbuild/Makefile into module name → objects. Line continuations, comments, `+=`/`:=`/`=`/`?=`,
 * and `$(VAR)` references to variables assigned in the same file are understood; conditionals are not
 * (out-of-tree Makefiles put the kbuild part in one branch of `ifneq ($(KERNELRELEASE),)`, so reading
 * every branch finds it).
 */
export function parseKbuild(text: string): Map<string, string[]> {
  // Every assignment, in order; the lists are interpreted once the whole file is read.
  const variables = new Map<string, string[]>();
  for (const rawLine of text.replace(/\\\r?\n/g, ' ').split(/\r?\n/)) {
    const line = rawLine.replace(/(^|[^\\])#.*$/, '$1');
    const assignment = /^\s*(?:override\s+|export\s+)?([\w.$(){}-]+)\s*(\+=|::=|:=|\?=|=)\s*(.*)$/.exec(line);
    if (!assignment) continue;
    const [, left = '', operator, right = ''] = assignment;
    const words = right.trim().split(/\s+/).filter(Boolean);
    if (operator === '?=' && variables.has(left)) continue;
    variables.set(left, operator === '+=' ? [...(variables.get(left) ?? []), ...words] : words);
  }
  const expand = (words: string[], depth = 0): string[] =>
    words.flatMap((word) => {
      const reference = /^\$[({]([\w-]+)[)}]$/.exec(word);
      if (reference) return depth < 5 ? expand(variables.get(reference[1]!) ?? [], depth + 1) : [];
      return word.includes('$') ? [] : [word];
    });
  const targets: string[] = [];
  const composites = new Map<string, string[]>();
  for (const [left, words] of variables) {
    const objects = expand(words).filter((word) => word.endsWith('.o'));
    if (TARGET_LIST.test(left)) {
      targets.push(...objects);
      continue;
    }
    const composite = COMPOSITE_LIST.exec(left);
    if (composite && !NOT_COMPOSITES.has(composite[1]!)) composites.set(composite[1]!, [...(composites.get(composite[1]!) ?? []), ...objects]);
  }
  const modules = new Map<string, string[]>();
  for (const target of targets) {
    const name = path.posix.basename(target, '.o');
    const subdir = path.posix.dirname(target);
    const objects = composites.get(name);
    const list = objects && objects.length > 0 ? objects : [path.posix.basename(target)];
    modules.set(name, list.map((object) => (subdir === '.' ? object : path.posix.join(subdir, object))));
  }
  return modules;
}
