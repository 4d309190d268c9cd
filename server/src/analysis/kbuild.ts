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
  /** The list that names it there: `obj-m`, `obj-y`, `obj-$(CONFIG_FOO)`. */
  listedBy?: string;
}

/**
 * How the target kernel builds the module: into the image (obj-y, or obj-$(CONFIG_X) with X=y), as a
 * loadable module, or not at all (obj-$(CONFIG_X) with X unset in the target's .config). Without a
 * known config every listed object counts as a module.
 */
export function linkage(module: ModuleSpec, config: ReadonlyMap<string, string> | undefined): 'builtin' | 'module' | 'absent' {
  if (module.listedBy === 'obj-y') return 'builtin';
  const option = /^obj-\$[({](CONFIG_\w+)[)}]$/.exec(module.listedBy ?? '')?.[1];
  if (option === undefined || !config) return 'module';
  const value = config.get(option);
  return value === 'y' ? 'builtin' : value === 'm' ? 'module' : 'absent';
}

/** Whether the module links into the kernel image. */
export function isBuiltIn(module: ModuleSpec, config: ReadonlyMap<string, string> | undefined): boolean {
  return linkage(module, config) === 'builtin';
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
  /** Module name → object paths relative to the Kbuild's directory (`a.o`, `sub/b.o`), and its list. */
  modules: Map<string, KbuildModule>;
}

interface KbuildModule {
  objects: string[];
  listedBy: string;
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
    for (const [name, { objects, listedBy }] of kbuild.modules) {
      const files = objects
        .map((object) => path.resolve(dir, object.replace(/\.o$/, '.c')))
        .filter((file) => wanted.has(file) || readFile(file) !== undefined);
      if (!files.some((file) => wanted.has(file))) continue;
      files.forEach((file) => claimed.add(file));
      modules.push({ name, dir, files: [...new Set(files)], kbuildFile: kbuild.file, listedBy });
    }
  }
  const includedC = new Map<string, Set<string>>();
  /** `.c` files that other `.c` files of the directory `#include` (ohci-hcd.c includes ohci-ppc-of.c). */
  const includedIn = (dir: string): Set<string> => {
    let included = includedC.get(dir);
    if (!included) {
      included = new Set();
      let names: string[] = [];
      try {
        names = fs.readdirSync(dir).filter((name) => name.endsWith('.c'));
      } catch {
        // An unreadable directory includes nothing we can see.
      }
      for (const name of names) {
        for (const match of (readFile(path.join(dir, name)) ?? '').matchAll(/^[ \t]*#[ \t]*include[ \t]*"([^"]+\.c)"/gm)) included.add(path.resolve(dir, match[1]!));
      }
      includedC.set(dir, included);
    }
    return included;
  };
  for (const file of [...wanted].sort()) {
    if (claimed.has(file)) continue;
    const dir = path.dirname(file);
    // Part of the file that includes it, not a module of its own.
    if (includedIn(dir).has(file)) continue;
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
    if (text !== undefined) return { file, modules: parseKbuildModules(withIncludes(text, dir, readFile, 0)) };
  }
  return undefined;
}

/** Splices `include $(src)/nvkm/Kbuild` fragments in (nouveau, amdgpu build one module from several). */
function withIncludes(text: string, dir: string, readFile: ReadFile, depth: number): string {
  if (depth >= 3 || !/^\s*-?include\s/m.test(text)) return text;
  return text.replace(/^\s*-?include\s+(?:\$\((?:src|srctree)\)\/)?(\S+)\s*$/gm, (line, target: string) => {
    if (target.includes('$')) return line;
    const file = path.resolve(dir, target);
    const included = readFile(file);
    return included === undefined ? line : withIncludes(included, dir, readFile, depth + 1);
  });
}

// `$(CONFIG_FOO)`, also with a substitution: `ixgbe-$(CONFIG_FCOE:m=y) += ixgbe_fcoe.o`.
const TARGET_LIST = /^obj-(?:m|y|\$[({][^)}]+[)}])$/;
const COMPOSITE_LIST = /^(.+?)-(?:objs|y|m|\$[({][^)}]+[)}])$/;
/** `<prefix>-y` lists that are not composite objects. */
const NOT_COMPOSITES = new Set(['obj', 'lib', 'subdir', 'ccflags', 'asflags', 'ldflags', 'always', 'extra', 'hostprogs', 'userprogs', 'targets', 'clean', 'header-test', 'ccflags-remove', 'subdir-ccflags']);

/**
 * Parses a Kbuild/Makefile into module name → objects. Line continuations, comments, `+=`/`:=`/`=`/`?=`,
 * and `$(VAR)` references to variables assigned in the same file are understood; conditionals are not
 * (out-of-tree Makefiles put the kbuild part in one branch of `ifneq ($(KERNELRELEASE),)`, so reading
 * every branch finds it).
 */
export function parseKbuild(text: string): Map<string, string[]> {
  return new Map([...parseKbuildModules(text)].map(([name, module]) => [name, module.objects]));
}

function parseKbuildModules(text: string): Map<string, KbuildModule> {
  // Every assignment, in order; the lists are interpreted once the whole file is read.
  const variables = new Map<string, string[]>();
  for (const rawLine of text.replace(/\\\r?\n/g, ' ').split(/\r?\n/)) {
    const line = rawLine.replace(/(^|[^\\])#.*$/, '$1');
    const assignment = /^\s*(?:override\s+|export\s+)?((?:[\w.-]|\$[({][^)}]*[)}])+)\s*(\+=|::=|:=|\?=|=)\s*(.*)$/.exec(line);
    if (!assignment) continue;
    const [, left = '', operator, right = ''] = assignment;
    const words = right.trim().split(/\s+/).filter(Boolean);
    if (operator === '?=' && variables.has(left)) continue;
    variables.set(left, operator === '+=' ? [...(variables.get(left) ?? []), ...words] : words);
  }
  const expand = (words: string[], depth = 0): string[] =>
    words.flatMap((word) => {
      const reference = /^\$[({]([\w-]+)[)}]$/.exec(word);
      if (reference) {
        if (depth >= 5) return [];
        // `$(dom0-y)` also gathers `dom0-$(CONFIG_PCI) += pci.o`: kbuild would have made that `dom0-y`.
        const name = reference[1]!;
        const conditional = name.endsWith('-y') ? [...variables].filter(([key]) => key.startsWith(`${name.slice(0, -1)}$`)).flatMap(([, value]) => value) : [];
        return expand([...(variables.get(name) ?? []), ...conditional], depth + 1);
      }
      return word.includes('$') ? [] : [word];
    });
  const targets: Array<{ object: string; listedBy: string }> = [];
  const composites = new Map<string, string[]>();
  for (const [left, words] of variables) {
    const objects = expand(words).filter((word) => word.endsWith('.o'));
    if (TARGET_LIST.test(left)) {
      targets.push(...objects.map((object) => ({ object, listedBy: left })));
      continue;
    }
    const composite = COMPOSITE_LIST.exec(left);
    if (composite && !NOT_COMPOSITES.has(composite[1]!)) composites.set(composite[1]!, [...(composites.get(composite[1]!) ?? []), ...objects]);
  }
  const modules = new Map<string, KbuildModule>();
  for (const { object: target, listedBy } of targets) {
    const name = path.posix.basename(target, '.o');
    const subdir = path.posix.dirname(target);
    const objects = composites.get(name);
    const list = objects && objects.length > 0 ? objects : [path.posix.basename(target)];
    modules.set(name, { objects: list.map((object) => (subdir === '.' ? object : path.posix.join(subdir, object))), listedBy });
  }
  return modules;
}

/** Most headers considered for one module's own names (a bound for modules inside huge trees). */
const MAX_LOCAL_HEADERS = 3000;
const localHeaderCache = new Map<string, { mtimeMs: number; names: string[]; includes: string[] }>();

/**
 * Names the module's own headers define as macros or static (inline) functions: the headers its files
 * `#include "…"`, transitively. A quoted include is looked up beside the including file, else by path
 * suffix among the headers of the module's directories (3 levels down) and their parents (2 levels
 * down), where `ccflags-y += -I…` usually points. A kernel function of such a name is then not what the
 * module calls (amdgpu's `#define dm_error(…) DRM_ERROR(…)` is not device-mapper's `dm_error()`).
 */
export function localHeaderNames(module: ModuleSpec, sources: ReadonlyArray<{ path: string; text: string }>): Set<string> {
  const names = new Set<string>();
  // The directory walk is only needed for includes not found beside the including file.
  let candidates: string[] | undefined;
  const candidatesOf = () => (candidates ??= candidateHeaders(module));
  const visited = new Set<string>();
  const queue: Array<{ from: string; include: string }> = sources.flatMap((source) => quotedIncludes(source.text).map((include) => ({ from: source.path, include })));
  while (queue.length > 0 && visited.size < MAX_LOCAL_HEADERS) {
    const { from, include } = queue.shift()!;
    const header = resolveInclude(from, include, candidatesOf);
    if (!header || visited.has(header)) continue;
    visited.add(header);
    const facts = headerFacts(header);
    if (!facts) continue;
    for (const name of facts.names) names.add(name);
    for (const next of facts.includes) queue.push({ from: header, include: next });
  }
  return names;
}

function quotedIncludes(text: string): string[] {
  return [...text.matchAll(/^[ \t]*#[ \t]*include[ \t]*"([^"]+)"/gm)].map((match) => match[1]!);
}

function resolveInclude(from: string, include: string, candidates: () => string[]): string | undefined {
  const beside = path.resolve(path.dirname(from), include);
  if (fs.existsSync(beside)) return beside;
  const suffix = `/${include.replace(/^(\.\.?\/)+/, '')}`;
  return candidates().find((candidate) => candidate.endsWith(suffix));
}

/** Header files under a directory, by directory and depth: modules of one tree share the walks. */
const headerWalks = new Map<string, string[]>();

function candidateHeaders(module: ModuleSpec): string[] {
  const roots = new Map<string, number>();
  for (const dir of [module.dir, ...module.files.map((file) => path.dirname(file))]) {
    roots.set(dir, Math.max(roots.get(dir) ?? 0, 3));
    const parent = path.dirname(dir);
    if (parent !== dir) roots.set(parent, Math.max(roots.get(parent) ?? 0, 2));
  }
  const headers = new Set<string>();
  const walk = (dir: string, depth: number): string[] => {
    const key = `${depth}:${dir}`;
    let found = headerWalks.get(key);
    if (found) return found;
    found = [];
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      // Unreadable: no headers.
    }
    for (const entry of entries) {
      if (found.length >= MAX_LOCAL_HEADERS) break;
      if (entry.isFile() && entry.name.endsWith('.h')) found.push(path.join(dir, entry.name));
      else if (entry.isDirectory() && depth > 0 && !entry.name.startsWith('.')) found.push(...walk(path.join(dir, entry.name), depth - 1));
    }
    headerWalks.set(key, found);
    return found;
  };
  for (const [dir, depth] of roots) {
    for (const header of walk(dir, depth)) {
      if (headers.size >= MAX_LOCAL_HEADERS) break;
      headers.add(header);
    }
  }
  return [...headers];
}

/** A header's macro and static-function names and quoted includes, cached by path and mtime. */
function headerFacts(header: string): { names: string[]; includes: string[] } | undefined {
  let mtimeMs: number;
  try {
    mtimeMs = fs.statSync(header).mtimeMs;
  } catch {
    return undefined;
  }
  const cached = localHeaderCache.get(header);
  if (cached && cached.mtimeMs === mtimeMs) return cached;
  const text = readFileIfPresent(header) ?? '';
  const names = new Set<string>();
  for (const match of text.matchAll(/^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)/gm)) names.add(match[1]!);
  for (const match of text.matchAll(/\bstatic\b[^;{}()=]*?\b([A-Za-z_]\w*)\s*\([^;{}]*\)[^;{}()]*\{/g)) names.add(match[1]!);
  const facts = { mtimeMs, names: [...names], includes: quotedIncludes(text) };
  localHeaderCache.set(header, facts);
  return facts;
}
