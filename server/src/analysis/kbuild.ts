// Which C files form one kernel module, read from Kbuild files the way kbuild reads them: `Kbuild` if the
// directory has one, else `Makefile`, evaluated as make would (variables, functions, `include`d
// fragments); `obj-m`/`obj-y`/`obj-$(CONFIG_X)` name the modules (`foo.o`), and `foo-objs`/`foo-y`/
// `foo-$(CONFIG_X)` list a composite module's objects. A `.c` file that no Kbuild claims, and that no
// other `.c` file `#include`s, is a module of its own, named after the file; in a kernel tree, kbuild
// never builds such a file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KconfigIndex } from './kconfig';
import { readTextIfPresent } from '../sources';

export interface ModuleSpec {
  /** The module's name (`foo` for `foo.ko`). */
  name: string;
  /** The directory of its Kbuild (or of the lone `.c` file). */
  dir: string;
  /** Absolute paths of its `.c` files. */
  files: string[];
  /** The Kbuild or Makefile that defines it, or (for an unlisted file) that lists the other objects of its folder; absent for a lone `.c` file. */
  kbuildFile?: string;
  /** The list that names it there: `obj-m`, `obj-y`, `obj-$(CONFIG_FOO)`. */
  listedBy?: string;
  /** The Kconfig type of the option in `listedBy`, when a Kconfig of the tree declares it. */
  optionType?: 'bool' | 'tristate';
  /**
   * A `.c` file that no Kbuild lists, in a folder whose Kbuild lists other objects or in a kernel tree (a host
   * tool, an example, dead code, a file left out of the Kbuild): never built as kernel code.
   */
  unlisted?: true;
  /**
   * A `lib-*` object outside the kernel image's libraries (lib/, arch/<arch>/lib/): kbuild's lib.a of such a
   * directory goes into a boot image (the EFI stub's libstub), never into the kernel or a module.
   */
  outsideImage?: true;
  /** Files the module has only when an option is set (`foo-$(CONFIG_FOO_DEBUG) += debug.o`), with that option. */
  conditionalFiles?: Record<string, string>;
  /** Listed only in a Makefile conditional branch the target's .config does not take (md-autodetect.o under `ifeq ($(CONFIG_BLK_DEV_MD),y)` with MD=m). */
  branchNotTaken?: true;
  /** Files listed only in conditional branches the target does not take: part of the module, never built for this target. */
  filesNotBuilt?: string[];
}

/**
 * Whether the target builds `file` into its module: not when the file comes from a `<mod>-$(CONFIG_X)`
 * list and the target's .config leaves X unset (without a .config, it may).
 */
export function fileIsBuilt(module: ModuleSpec, file: string, config: ReadonlyMap<string, string> | undefined): boolean {
  if (module.filesNotBuilt?.includes(file)) return false;
  const option = module.conditionalFiles?.[file];
  if (!option || !config) return true;
  const value = config.get(option);
  return value === 'y' || value === 'm';
}

/** The option a module list depends on, and whether `m` counts as `y` there (`$(CONFIG_X:m=y)`, `$(subst m,y,$(CONFIG_X))`). */
function listOption(listedBy: string | undefined): { option: string; moduleMeansBuiltIn: boolean } | undefined {
  const match = /^(?:obj|lib)-\$[({](?:(CONFIG_\w+)|(CONFIG_\w+):m=y|subst m,y,\$[({](CONFIG_\w+)[)}])[)}]$/.exec(listedBy ?? '');
  if (!match) return undefined;
  return { option: (match[1] ?? match[2] ?? match[3])!, moduleMeansBuiltIn: match[1] === undefined };
}

/**
 * How the target kernel builds the module: into the image (obj-y, or obj-$(CONFIG_X) with X=y), as a
 * loadable module, or not at all (obj-$(CONFIG_X) with X unset in the target's .config; a kernel-tree
 * file no Kbuild lists). Without a known config, a listed object counts as a module unless its option
 * is a Kconfig `bool` (y or n, never m). `lib-*` objects go into the image's lib.a, never a module.
 */
export function linkage(module: ModuleSpec, config: ReadonlyMap<string, string> | undefined): 'builtin' | 'module' | 'absent' {
  if (module.unlisted || module.outsideImage || module.branchNotTaken) return 'absent';
  if (module.listedBy === 'obj-y' || module.listedBy === 'lib-y') return 'builtin';
  const list = listOption(module.listedBy);
  if (!list) return 'module';
  const builtInWhenSet = list.moduleMeansBuiltIn || module.listedBy!.startsWith('lib-');
  if (!config) return builtInWhenSet || module.optionType === 'bool' ? 'builtin' : 'module';
  const value = config.get(list.option);
  if (value === 'y' || (value === 'm' && builtInWhenSet)) return 'builtin';
  return value === 'm' ? 'module' : 'absent';
}

/** Whether the module links into the kernel image. */
export function isBuiltIn(module: ModuleSpec, config: ReadonlyMap<string, string> | undefined): boolean {
  return linkage(module, config) === 'builtin';
}

/** The target's .config (CONFIG_X → y, m or a value; unset options absent), or undefined when not known. */
export type TargetConfig = ReadonlyMap<string, string> | undefined;

/** Reads a file; undefined when it does not exist or cannot be read. */
export type ReadFile = (file: string) => string | undefined;

/** Only regular files, and at most MAX_FILE_BYTES of them (sources.ts: a FIFO or /dev/zero cannot hang the scan). */
export const readFileIfPresent: ReadFile = (file) => readTextIfPresent(file);

/** How many directories above a `.c` file may hold the Kbuild that lists it (`obj-m += x.o; x-y := sub/a.o`). */
const KBUILD_SEARCH_LEVELS = 2;
/**
 * How many directories above a fragment (a Makefile without `obj-` lists, like amdgpu's dc/dcn30/Makefile)
 * the Makefile that `include`s it may sit, in a sibling branch (amd/amdgpu/Makefile for amd/display/dc/dcn30).
 */
const FRAGMENT_SEARCH_LEVELS = 4;
/** How many directories above a `.c` file another `.c` file may `#include` it from (i915_vma.c → selftests/i915_vma.c). */
const INCLUDED_C_LEVELS = 2;

interface KbuildModules {
  file: string;
  /** Module name → object paths relative to the Kbuild's directory (`a.o`, `sub/b.o`), and its list. */
  modules: Map<string, KbuildModule>;
  /** Files it `include`s, directly or through other includes. */
  included: ReadonlySet<string>;
  /** Whether it assigns `obj-…`/`lib-…` lists; a Makefile that does not is a fragment included elsewhere. */
  listsObjects: boolean;
}

interface KbuildModule {
  objects: string[];
  listedBy: string;
  /** Objects listed only under `<mod>-$(CONFIG_X)`, with X. */
  conditional: Map<string, string>;
  /** The module is listed only in a conditional branch the target's .config does not take. */
  branchNotTaken?: true;
  /** Objects listed only in conditional branches the target's .config does not take. */
  objectsNotTaken?: Set<string>;
}

/** Directories and their Kbuilds, kernel tree roots and Kconfig indexes, read once per discovery. */
class KbuildTree {
  private readonly kbuilds = new Map<string, KbuildModules | undefined>();
  private readonly roots = new Map<string, string | undefined>();
  private readonly kconfigs = new Map<string, KconfigIndex>();

  constructor(readonly readFile: ReadFile, readonly config: TargetConfig) {}

  kbuildIn(dir: string): KbuildModules | undefined {
    if (!this.kbuilds.has(dir)) this.kbuilds.set(dir, readKbuild(dir, this.rootOf(dir) ?? dir, this.readFile, this.config));
    return this.kbuilds.get(dir);
  }

  /** The kernel tree holding `dir`: the nearest ancestor whose Makefile sets VERSION and PATCHLEVEL (Linux's top Makefile). */
  rootOf(dir: string): string | undefined {
    if (this.roots.has(dir)) return this.roots.get(dir);
    const text = this.readFile(path.join(dir, 'Makefile'));
    const parent = path.dirname(dir);
    const root = text !== undefined && /^VERSION\s*=/m.test(text) && /^PATCHLEVEL\s*=/m.test(text) ? dir : parent === dir ? undefined : this.rootOf(parent);
    this.roots.set(dir, root);
    return root;
  }

  /** Whether `lib-*` objects of `dir` go into the kernel image: under lib/ or arch/<arch>/lib/ of a kernel tree (the top Makefile's libs-y), or outside any kernel tree. */
  inImageLibrary(dir: string): boolean {
    const root = this.rootOf(dir);
    if (root === undefined) return true;
    return /^(?:lib|arch\/[^/]+\/lib)(?:\/|$)/.test(path.relative(root, dir).split(path.sep).join('/'));
  }

  /** The `.c` files of every module the Kbuild of `dir` lists (existing or not). */
  sourcesListedIn(dir: string): string[] {
    const kbuild = this.kbuildIn(dir);
    if (!kbuild) return [];
    return [...kbuild.modules.values()].flatMap((module) => module.objects.map((object) => path.resolve(dir, object.replace(/\.o$/, '.c'))));
  }

  /** The Kconfig type of `option` for a Kbuild in `dir` (read from `dir`'s Kconfig up to the tree root). */
  optionType(option: string, dir: string): 'bool' | 'tristate' | undefined {
    const root = this.rootOf(dir) ?? dir;
    let index = this.kconfigs.get(root);
    if (!index) this.kconfigs.set(root, (index = new KconfigIndex(root, this.readFile)));
    const type = index.typeOf(option, dir);
    return type === 'other' ? undefined : type;
  }
}

function subdirectories(dir: string): string[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true }).filter((entry) => entry.isDirectory() && !entry.name.startsWith('.')).map((entry) => path.join(dir, entry.name)).sort();
  } catch {
    return [];
  }
}

/**
 * Groups C files into modules. Returns only modules that contain at least one of `cFiles`; a module's
 * other files are included when they exist (checked with `readFile`). A `.c` file another `.c` file
 * `#include`s belongs to the includer's module. `config`, the target's .config, decides the Makefiles'
 * conditional directives; without it, those on `CONFIG_*` are unknown and all their branches are read.
 */
export function discoverModules(cFiles: string[], readFile: ReadFile = readFileIfPresent, config?: TargetConfig): ModuleSpec[] {
  return discover(cFiles, readFile, true, config);
}

/** `findIncluders`: look up the module of an including file that is not among `cFiles` (one level deep). */
function discover(cFiles: string[], readFile: ReadFile, findIncluders: boolean, config: TargetConfig): ModuleSpec[] {
  const wanted = new Set(cFiles.map((file) => path.resolve(file)));
  const tree = new KbuildTree(readFile, config);
  const dirs = searchDirectories(wanted, tree);
  const modules = listedModules(dirs, wanted, tree);
  // A file no Kbuild above it lists may be named through a path by a neighbour's (`foo-y += ../common/x.o`).
  const neighbours = new Set([...unclaimed(wanted, modules)].flatMap((file) => neighbourDirectories(path.dirname(file))).filter((dir) => !dirs.has(dir)));
  modules.push(...listedModules(neighbours, new Set(unclaimed(wanted, modules)), tree));
  const claimed = new Set(modules.flatMap((module) => module.files));
  const includedSources = new IncludedSources(readFile);
  const includers = new Map<string, string>();
  const includeOptions = new Map<string, string>();
  for (const file of [...wanted].sort()) {
    if (claimed.has(file)) continue;
    // Part of the file that includes it, not a module of its own.
    const found = includedSources.includerOf(file, (dir) => tree.sourcesListedIn(dir));
    if (found) {
      includers.set(file, found.includer);
      if (found.option) includeOptions.set(file, found.option);
      continue;
    }
    modules.push(unlistedModule(file, tree));
  }
  for (const [file, includer] of includers) {
    // The outermost includer (selftests may include further .c files), then its module.
    let outermost = includer;
    for (let hops = 0; includers.has(outermost) && hops < includers.size; hops++) outermost = includers.get(outermost)!;
    let module = modules.find((candidate) => candidate.files.includes(outermost));
    if (!module && findIncluders) {
      module = discover([outermost], readFile, false, config).find((candidate) => candidate.files.includes(outermost));
      if (module) modules.push(module);
    }
    if (module && !module.files.includes(file)) module.files.push(file);
    // Included only under an option: built only when the target sets it (fileIsBuilt).
    const option = includeOptions.get(file);
    if (module && option) module.conditionalFiles = { ...module.conditionalFiles, [file]: option };
  }
  return modules;
}

/** Directories whose Kbuild may list `wanted` files: theirs and KBUILD_SEARCH_LEVELS above, and the includers of fragments among them. */
function searchDirectories(wanted: ReadonlySet<string>, tree: KbuildTree): Set<string> {
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
  for (const dir of [...dirs]) {
    const kbuild = tree.kbuildIn(dir);
    if (kbuild && !kbuild.listsObjects) for (const includer of includersOf(kbuild.file, dir, tree)) dirs.add(includer);
  }
  return dirs;
}

/** The modules the Kbuilds of `dirs` list that hold at least one `wanted` file, with their other existing files. */
function listedModules(dirs: ReadonlySet<string>, wanted: ReadonlySet<string>, tree: KbuildTree): ModuleSpec[] {
  const modules: ModuleSpec[] = [];
  for (const dir of [...dirs].sort()) {
    const kbuild = tree.kbuildIn(dir);
    if (!kbuild) continue;
    for (const [name, { objects, listedBy, conditional, branchNotTaken, objectsNotTaken }] of kbuild.modules) {
      const sourceOf = (object: string) => path.resolve(dir, object.replace(/\.o$/, '.c'));
      const files = objects
        .map(sourceOf)
        .filter((file) => wanted.has(file) || tree.readFile(file) !== undefined);
      if (!files.some((file) => wanted.has(file))) continue;
      const option = listOption(listedBy)?.option;
      const optionType = option ? tree.optionType(option, dir) : undefined;
      const outsideImage = listedBy.startsWith('lib-') && !tree.inImageLibrary(dir);
      const conditionalFiles = Object.fromEntries([...conditional].map(([object, fileOption]) => [sourceOf(object), fileOption]).filter(([file]) => files.includes(file!)));
      const filesNotBuilt = [...(objectsNotTaken ?? [])].map(sourceOf).filter((file) => files.includes(file));
      modules.push({
        name, dir, files: [...new Set(files)], kbuildFile: kbuild.file, listedBy, ...(optionType ? { optionType } : {}), ...(outsideImage ? { outsideImage } : {}),
        ...(Object.keys(conditionalFiles).length > 0 ? { conditionalFiles } : {}), ...(branchNotTaken ? { branchNotTaken } : {}),
        ...(filesNotBuilt.length > 0 ? { filesNotBuilt } : {}),
      });
    }
  }
  return modules;
}

function unclaimed(wanted: ReadonlySet<string>, modules: readonly ModuleSpec[]): string[] {
  const claimed = new Set(modules.flatMap((module) => module.files));
  return [...wanted].filter((file) => !claimed.has(file));
}

/** The subdirectories of `dir` and of its parent: where a Kbuild naming a file of `dir` by a relative path sits. */
function neighbourDirectories(dir: string): string[] {
  return [...subdirectories(dir), ...subdirectories(path.dirname(dir))];
}

/**
 * A file no Kbuild lists, as a module of its own. It is not built (`unlisted`) when its folder's Kbuild
 * lists other objects (the user's module folder: kbuild ignores a `.c` its Kbuild does not name) or it
 * lies in a kernel tree. In a folder without a Kbuild listing objects (a new module, a plain C project)
 * it is a module of its own; sourceKind decides whether it is kernel code at all.
 */
function unlistedModule(file: string, tree: KbuildTree): ModuleSpec {
  const dir = path.dirname(file);
  const kbuild = tree.kbuildIn(dir);
  const governing = kbuild?.listsObjects ? kbuild : undefined;
  const unlisted = governing !== undefined || tree.rootOf(dir) !== undefined;
  return { name: path.basename(file, '.c'), dir, files: [file], ...(governing ? { kbuildFile: governing.file } : {}), ...(unlisted ? { unlisted } : {}) };
}

/**
 * Directories whose Kbuild `include`s the fragment `fragment` (in `dir`) and lists objects: the nearest
 * ancestor, or one of its subdirectories, that does, up to FRAGMENT_SEARCH_LEVELS above.
 */
function includersOf(fragment: string, dir: string, tree: KbuildTree): string[] {
  let ancestor = dir;
  for (let level = 0; level < FRAGMENT_SEARCH_LEVELS; level++) {
    const parent = path.dirname(ancestor);
    if (parent === ancestor) break;
    ancestor = parent;
    const found = [ancestor, ...subdirectories(ancestor)].filter((candidate) => {
      const kbuild = tree.kbuildIn(candidate);
      return kbuild !== undefined && kbuild.listsObjects && kbuild.included.has(fragment);
    });
    if (found.length > 0) return found;
  }
  return [];
}

interface SourceInclude {
  include: string;
  /** The option an enclosing `#ifdef CONFIG_X` / `#if IS_ENABLED(CONFIG_X)` requires, when one does. */
  option?: string;
}

const CONFIG_TEST = /^\s*(?:(?:defined|IS_ENABLED|IS_BUILTIN|IS_MODULE)\s*\(\s*)?(CONFIG_\w+)\s*\)?\s*(?:\/[*/].*)?$/;

/**
 * The quoted `.c` includes of a text, each with the option of an enclosing single-option conditional:
 * ohci-hcd.c includes ohci-sm501.c only `#ifdef CONFIG_MFD_SM501`, so a target without it never builds it.
 */
export function sourceIncludes(text: string): SourceInclude[] {
  const found: SourceInclude[] = [];
  const guards: Array<string | undefined> = [];
  for (const match of text.matchAll(/^[ \t]*#[ \t]*(\w+)([^\n]*)/gm)) {
    const [, directive, rest = ''] = match;
    if (directive === 'ifdef' || directive === 'if') guards.push(CONFIG_TEST.exec(rest)?.[1]);
    else if (directive === 'ifndef') guards.push(undefined);
    else if (directive === 'else' || directive === 'elif') guards[guards.length - 1] = undefined;
    else if (directive === 'endif') guards.pop();
    else if (directive === 'include') {
      const include = /^[ \t]*"([^"]+\.c)"/.exec(rest)?.[1];
      if (include !== undefined) found.push({ include, option: guards.find((guard) => guard !== undefined) });
    }
  }
  return found;
}

/** `.c` files that other `.c` files `#include` (ohci-hcd.c includes ohci-ppc-of.c, i915_vma.c selftests/i915_vma.c). */
class IncludedSources {
  private readonly sourcesByDir = new Map<string, string[]>();
  private readonly includesByFile = new Map<string, SourceInclude[]>();

  constructor(private readonly readFile: ReadFile) {}

  /**
   * The `.c` file that includes `file`, if one does: a `.c` file of its directory or of one of the
   * INCLUDED_C_LEVELS above, or a file the Kbuild of one of those directories lists (gt/intel_gtt.c of i915 includes
   * "selftests/mock_gtt.c", found through `-I$(srctree)/$(src)`). An include resolves beside the
   * including file or from one of its parent directories (where kbuild's include paths point).
   */
  includerOf(file: string, sourcesListedIn: (dir: string) => string[]): { includer: string; option?: string } | undefined {
    const ancestors: string[] = [];
    for (let dir = path.dirname(file), level = 0; level <= INCLUDED_C_LEVELS; level++) {
      ancestors.push(dir);
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
    const includers = new Set(ancestors.flatMap((dir) => this.sourcesIn(dir)));
    for (const dir of ancestors) for (const listed of sourcesListedIn(dir)) includers.add(listed);
    for (const includer of includers) {
      for (const { include, option } of this.includesOf(includer)) {
        let base = path.dirname(includer);
        for (let up = 0; up <= INCLUDED_C_LEVELS; up++) {
          if (path.resolve(base, include) === file && includer !== file) return { includer, option };
          base = path.dirname(base);
        }
      }
    }
    return undefined;
  }

  private sourcesIn(dir: string): string[] {
    let sources = this.sourcesByDir.get(dir);
    if (!sources) {
      try {
        sources = fs.readdirSync(dir).filter((name) => name.endsWith('.c')).map((name) => path.join(dir, name));
      } catch {
        // An unreadable directory includes nothing we can see.
        sources = [];
      }
      this.sourcesByDir.set(dir, sources);
    }
    return sources;
  }

  private includesOf(file: string): SourceInclude[] {
    let includes = this.includesByFile.get(file);
    if (!includes) {
      includes = sourceIncludes(this.readFile(file) ?? '');
      this.includesByFile.set(file, includes);
    }
    return includes;
  }
}

/** The module a C file belongs to, considering the `.c` files of its directory (for the editor). */
export function moduleOf(file: string, readFile: ReadFile = readFileIfPresent, config?: TargetConfig): ModuleSpec {
  const absolute = path.resolve(file);
  const dir = path.dirname(absolute);
  let siblings: string[] = [];
  try {
    siblings = fs.readdirSync(dir).filter((name) => name.endsWith('.c')).map((name) => path.join(dir, name));
  } catch {
    // An unsaved or vanished directory: the file alone.
  }
  const modules = discoverModules([absolute, ...siblings], readFile, config);
  return modules.find((module) => module.files.includes(absolute)) ?? { name: path.basename(absolute, '.c'), dir, files: [absolute] };
}

function readKbuild(dir: string, srctree: string, readFile: ReadFile, config: TargetConfig): KbuildModules | undefined {
  for (const name of ['Kbuild', 'Makefile']) {
    const file = path.join(dir, name);
    const text = readFile(file);
    if (text === undefined) continue;
    const make = new MakeEvaluator(dir, srctree, readFile, config);
    make.evaluate(text);
    let modules = kbuildModules(make);
    if (config) {
      // The branches the target does not take, read as without a .config: their files stay in their
      // module (function-level rules need the module's other files for its call graph) but are marked not built.
      const everyBranch = new MakeEvaluator(dir, srctree, readFile);
      everyBranch.evaluate(text);
      modules = withBranchesNotTaken(modules, kbuildModules(everyBranch));
    }
    return { file, modules, included: make.included, listsObjects: make.listsObjects() };
  }
  return undefined;
}

/** `taken` (the target's modules) with what only `everyBranch` lists added as not taken. */
function withBranchesNotTaken(taken: Map<string, KbuildModule>, everyBranch: Map<string, KbuildModule>): Map<string, KbuildModule> {
  const merged = new Map(taken);
  for (const [name, module] of everyBranch) {
    const built = taken.get(name);
    if (!built) {
      merged.set(name, { ...module, branchNotTaken: true });
      continue;
    }
    const extra = module.objects.filter((object) => !built.objects.includes(object));
    if (extra.length > 0) merged.set(name, { ...built, objects: [...built.objects, ...extra], objectsNotTaken: new Set(extra) });
  }
  return merged;
}

// `$(CONFIG_FOO)`, also with a substitution: `ixgbe-$(CONFIG_FCOE:m=y) += ixgbe_fcoe.o`,
// `obj-$(subst m,y,$(CONFIG_ZCRYPT)) += ap.o`.
const TARGET_LIST = /^(?:obj|lib)-(?:m|y|\$[({].+[)}])$/;
const COMPOSITE_LIST = /^(.+?)-(?:objs|y|m|\$[({].+[)}])$/;
/** `<prefix>-y` lists that are not composite objects. */
const NOT_COMPOSITES = new Set(['obj', 'lib', 'subdir', 'ccflags', 'asflags', 'ldflags', 'always', 'extra', 'hostprogs', 'userprogs', 'targets', 'clean', 'header-test', 'ccflags-remove', 'subdir-ccflags']);

/**
 * Parses a Kbuild/Makefile into module name → objects, evaluating it as make would (see MakeEvaluator);
 * `dir` is the Makefile's directory, for `$(src)` and relative includes.
 */
export function parseKbuild(text: string, dir = process.cwd(), readFile: ReadFile = readFileIfPresent, config?: TargetConfig): Map<string, string[]> {
  const make = new MakeEvaluator(path.resolve(dir), path.resolve(dir), readFile, config);
  make.evaluate(text);
  return new Map([...kbuildModules(make)].map(([name, module]) => [name, module.objects]));
}

/** Module name → objects from the lists of an evaluated Kbuild: `obj-*` name the modules, `<name>-*` their parts. */
function kbuildModules(make: MakeEvaluator): Map<string, KbuildModule> {
  const targets: Array<{ object: string; listedBy: string }> = [];
  const composites = new Map<string, string[]>();
  /** Per composite: object → the option of every conditional list naming it ('' once an unconditional one does). */
  const options = new Map<string, Map<string, string>>();
  for (const name of make.variables.keys()) {
    const isTarget = TARGET_LIST.test(name);
    const composite = isTarget ? undefined : COMPOSITE_LIST.exec(name)?.[1];
    if (!isTarget && (composite === undefined || NOT_COMPOSITES.has(composite))) continue;
    // A word still holding `$(…)` depends on configuration we do not know: not an object name.
    const objects = splitWords(make.valueOf(name)).filter((word) => /[^/]\.o$/.test(word) && !word.includes('$'));
    if (isTarget) {
      targets.push(...objects.map((object) => ({ object, listedBy: name })));
      continue;
    }
    composites.set(composite!, [...(composites.get(composite!) ?? []), ...objects]);
    const option = /-\$[({](CONFIG_\w+)[)}]$/.exec(name)?.[1] ?? '';
    const byObject = options.get(composite!) ?? new Map<string, string>();
    options.set(composite!, byObject);
    for (const object of objects) byObject.set(object, byObject.has(object) && byObject.get(object) !== option ? '' : option);
  }
  const modules = new Map<string, KbuildModule>();
  for (const { object: target, listedBy } of targets) {
    const name = path.posix.basename(target, '.o');
    const subdir = path.posix.dirname(target);
    const objects = composites.get(name);
    const list = objects && objects.length > 0 ? [...new Set(objects)] : [path.posix.basename(target)];
    const inSubdir = (object: string) => (subdir === '.' ? object : path.posix.join(subdir, object));
    const conditional = new Map([...(options.get(name) ?? [])].filter(([, option]) => option !== '').map(([object, option]) => [inSubdir(object), option]));
    modules.set(name, { objects: list.map(inSubdir), listedBy, conditional });
  }
  return modules;
}

function splitWords(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

/** A make variable: recursively expanded at each use (`=`, `define`, `+=` on a new name) or expanded once (`:=`). */
interface MakeVariable {
  value: string;
  recursive: boolean;
}

const MAX_INCLUDE_DEPTH = 8;
/** Deepest nesting of expansions (a bound for self-referencing `$(call)`s). */
const MAX_EXPANSION_DEPTH = 64;

/** Make functions we evaluate, with how many arguments each takes (the last one keeps further commas). */
const MAKE_FUNCTIONS = new Map<string, number>([
  ['subst', 3], ['patsubst', 3], ['strip', 1], ['findstring', 2], ['filter', 2], ['filter-out', 2], ['sort', 1],
  ['word', 2], ['wordlist', 3], ['words', 1], ['firstword', 1], ['lastword', 1], ['dir', 1], ['notdir', 1],
  ['suffix', 1], ['basename', 1], ['addsuffix', 2], ['addprefix', 2], ['join', 2], ['wildcard', 1],
  ['realpath', 1], ['abspath', 1], ['if', 3], ['or', Infinity], ['and', Infinity], ['foreach', 3],
  ['call', Infinity], ['value', 1], ['origin', 1], ['flavor', 1], ['eval', 1], ['shell', 1],
  ['info', 1], ['warning', 1], ['error', 1],
]);
/** Functions that work word by word: a word naming unknown configuration passes through as a word. */
const WORDWISE_FUNCTIONS = new Set(['patsubst', 'strip', 'sort', 'dir', 'notdir', 'suffix', 'basename', 'addsuffix', 'addprefix', 'join']);

/**
 * Reads a Makefile the way GNU make does, as far as module lists need: `=` (recursive) vs `:=`/`::=`
 * (simple) vs `+=`/`?=` assignments, `$(VAR)`/`${VAR}`, substitution references (`$(VAR:.o=.c)`),
 * computed names, `define`, `include` (of expanded, possibly several, paths), and the text functions
 * (`addprefix`, `addsuffix`, `patsubst`, `subst`, `foreach`, `filter`, `wildcard`, `call`, …). Kbuild's own
 * `$(srctree)`, `$(src)`, `$(obj)` are set. `$(shell …)` is never run (it yields nothing).
 *
 * What is unknown stays visible: an undefined `CONFIG_*` variable expands to its own text (so
 * `obj-$(CONFIG_FOO)` keeps that name, and linkage() decides it later), and so does a function applied to
 * one (`$(subst m,y,$(CONFIG_X))`). Conditional directives are evaluated (see Conditionals), their
 * `CONFIG_*` against the target's .config when one is given.
 */
class MakeEvaluator {
  readonly variables = new Map<string, MakeVariable>();
  /** Every file read through `include`, absolute. */
  readonly included = new Set<string>();
  private readonly including = new Set<string>();
  private readonly expanding = new Set<string>();
  private expansionDepth = 0;
  private readonly conditionals = new Conditionals((keyword, text) => this.decide(keyword, text));
  /** Expanding a conditional directive's text: an undefined variable is unknown there, not empty. */
  private inCondition = false;

  /** `config`: the target's .config (CONFIG_X → y/m/value; unset options absent); without it, CONFIG_* are unknown. */
  constructor(
    private readonly dir: string, private readonly srctree: string, private readonly readFile: ReadFile,
    private readonly config?: ReadonlyMap<string, string>,
  ) {
    const src = path.relative(srctree, dir) || '.';
    for (const [name, value] of [['srctree', srctree], ['objtree', srctree], ['src', src], ['obj', src]] as const) this.variables.set(name, { value, recursive: false });
  }

  /** Whether the file assigns any `obj-…`/`lib-…` list: if not, it is a fragment other Makefiles include. */
  listsObjects(): boolean {
    return [...this.variables.keys()].some((name) => /^(?:obj|lib)-/.test(name));
  }

  evaluate(text: string, includeDepth = 0): void {
    let define: { name: string; operator: string; lines: string[]; nesting: number } | undefined;
    let inRecipe = false;
    for (const rawLine of text.replace(/\\\r?\n[ \t]*/g, ' ').split(/\r?\n/)) {
      if (define) {
        if (/^\s*endef\b/.test(rawLine) && define.nesting-- === 0) {
          this.assign(define.name, define.operator, define.lines.join('\n'));
          define = undefined;
        } else {
          if (/^\s*(?:(?:override|export|private)\s+)*define\s/.test(rawLine)) define.nesting++;
          define.lines.push(rawLine);
        }
        continue;
      }
      // A rule's recipe is shell, not make: `\t$(MAKE) -C $(KDIR) M=$(PWD) modules`.
      if (inRecipe && rawLine.startsWith('\t')) continue;
      const line = rawLine.replace(/(^|[^\\])#.*$/, '$1').trim();
      if (!line) continue;
      inRecipe = false;
      if (this.conditionals.directive(line)) continue;
      if (!this.conditionals.active) continue;
      const include = /^(?:-?include|sinclude)\s+(.*)$/.exec(line);
      if (include) {
        for (const target of splitWords(this.expand(include[1]!))) this.include(target, includeDepth);
        continue;
      }
      const defineStart = /^(?:(?:override|export|private)\s+)*define\s+(\S+?)\s*(=|:=|::=|\+=|\?=)?\s*$/.exec(line);
      if (defineStart) {
        define = { name: defineStart[1]!, operator: defineStart[2] ?? '=', lines: [], nesting: 0 };
        continue;
      }
      const assignment = splitAssignment(line);
      if (assignment) this.assign(assignment.name, assignment.operator, assignment.value);
      else if (/^[^=]*:/.test(line)) inRecipe = true;
    }
  }

  /** A variable's value as a use of `$(name)` at the end of the file sees it ('' if undefined). */
  valueOf(name: string): string {
    const variable = this.variables.get(name);
    return variable ? this.valueOfVariable(name, variable) : '';
  }

  private valueOfVariable(name: string, variable: MakeVariable): string {
    if (!variable.recursive) return variable.value;
    // make stops on a variable that references itself; we read it as empty.
    if (this.expanding.has(name)) return '';
    this.expanding.add(name);
    try {
      return this.expand(variable.value);
    } finally {
      this.expanding.delete(name);
    }
  }

  private include(target: string, depth: number): void {
    if (target.includes('$') || depth >= MAX_INCLUDE_DEPTH) return;
    // make's working directory is the tree root; a path relative to the Makefile is a fallback for
    // out-of-tree Makefiles that kbuild would not find either way.
    const candidates = path.isAbsolute(target) ? [path.resolve(target)] : [path.resolve(this.srctree, target), path.resolve(this.dir, target)];
    for (const file of candidates) {
      if (this.including.has(file)) return;
      const text = this.readFile(file);
      if (text === undefined) continue;
      this.included.add(file);
      this.including.add(file);
      try {
        this.evaluate(text, depth + 1);
      } finally {
        this.including.delete(file);
      }
      return;
    }
  }

  private assign(left: string, operator: string, right: string): void {
    const name = this.expand(left).trim();
    // A name holds no blanks, except inside an unknown reference it keeps (`obj-$(subst m,y,$(CONFIG_X))`).
    if (!name || /\s/.test(name.replace(/\$[({].*[)}]/g, ''))) return;
    const existing = this.variables.get(name);
    if (operator === ':=' || operator === '::=') this.variables.set(name, { value: this.expand(right), recursive: false });
    else if (operator === '!=') this.variables.set(name, { value: '', recursive: false });
    else if (operator === '?=') {
      if (!existing) this.variables.set(name, { value: right, recursive: true });
    } else if (operator === '+=' && existing) {
      const added = existing.recursive ? right : this.expand(right);
      this.variables.set(name, { value: existing.value ? `${existing.value} ${added}` : added, recursive: existing.recursive });
    } else this.variables.set(name, { value: right, recursive: true });
  }

  expand(text: string): string {
    if (!text.includes('$')) return text;
    if (this.expansionDepth >= MAX_EXPANSION_DEPTH) return '';
    this.expansionDepth++;
    try {
      let out = '';
      for (let i = 0; i < text.length; i++) {
        const char = text[i]!;
        if (char !== '$') {
          out += char;
          continue;
        }
        const next = text[i + 1];
        if (next === undefined) break;
        if (next === '$') {
          out += '$';
          i++;
        } else if (next === '(' || next === '{') {
          const close = closingParen(text, i + 1);
          if (close < 0) return out + text.slice(i);
          out += this.reference(text.slice(i + 2, close), text.slice(i, close + 1));
          i = close;
        } else {
          out += this.variableValue(next, `$${next}`);
          i++;
        }
      }
      return out;
    } finally {
      this.expansionDepth--;
    }
  }

  /** `$(inner)`: a function call, a substitution reference or a variable; `literal` is its source text. */
  private reference(inner: string, literal: string): string {
    const call = /^([a-z-]+)[ \t]+/.exec(inner);
    if (call && MAKE_FUNCTIONS.has(call[1]!)) return this.call(call[1]!, inner.slice(call[0].length), literal);
    const colon = topLevelIndex(inner, ':');
    const equals = colon < 0 ? -1 : inner.indexOf('=', colon);
    if (equals > colon && colon >= 0) {
      const value = this.variableValue(this.expand(inner.slice(0, colon)), literal);
      if (isOpaque(value)) return literal;
      const from = this.expand(inner.slice(colon + 1, equals));
      const to = this.expand(inner.slice(equals + 1));
      // `$(VAR:.o=.c)` replaces a suffix; with `%` it is a patsubst.
      return splitWords(value).map((word) => (from.includes('%') ? patsubstWord(from, to, word) : patsubstWord(`%${from}`, `%${to}`, word))).join(' ');
    }
    return this.variableValue(this.expand(inner), literal);
  }

  private variableValue(name: string, literal: string): string {
    const variable = this.variables.get(name);
    const values: string[] = variable ? [this.valueOfVariable(name, variable)] : [];
    // `$(dom0-y)` also gathers `dom0-$(CONFIG_PCI) += pci.o`: kbuild would have made that `dom0-y`.
    if (name.endsWith('-y')) {
      const conditional = `${name.slice(0, -1)}$`;
      for (const [other, value] of this.variables) if (other.startsWith(conditional)) values.push(this.valueOfVariable(other, value));
    }
    if (values.length > 0) return values.join(' ');
    return this.undefinedValue(name, literal);
  }

  /**
   * A variable no line of the Makefile sets. In a condition, a `CONFIG_*` option is the target's (unset:
   * empty); anything else may come from make's command line or environment (`KERNELRELEASE`, `ARCH`), so it
   * keeps its text and the condition is unknown. Elsewhere, configuration keeps its name and the rest is empty.
   */
  private undefinedValue(name: string, literal: string): string {
    const isOption = /^CONFIG_\w+$/.test(name);
    if (isOption && this.inCondition && this.config) return this.config.get(name) ?? '';
    return isOption || this.inCondition ? literal : '';
  }

  /**
   * A conditional directive's truth: true, false, or undefined when it depends on something unknown (see
   * undefinedValue). `ifdef` tests a variable's unexpanded value for being non-empty, as make does.
   */
  private decide(keyword: ConditionKeyword, text: string): boolean | undefined {
    const wanted = keyword === 'ifeq' || keyword === 'ifdef';
    if (keyword === 'ifdef' || keyword === 'ifndef') {
      const defined = this.isDefined(this.expandInCondition(text).trim());
      return defined === undefined ? undefined : defined === wanted;
    }
    const operands = conditionOperands(text);
    if (!operands) return undefined;
    const [left, right] = operands.map((operand) => this.expandInCondition(operand).trim());
    if (isOpaque(left!) || isOpaque(right!)) return undefined;
    return (left === right) === wanted;
  }

  private isDefined(name: string): boolean | undefined {
    if (isOpaque(name)) return undefined;
    const variable = this.variables.get(name);
    if (variable) return variable.value.trim() !== '';
    if (/^CONFIG_\w+$/.test(name) && this.config) return (this.config.get(name) ?? '') !== '';
    return undefined;
  }

  private expandInCondition(text: string): string {
    const outer = this.inCondition;
    this.inCondition = true;
    try {
      return this.expand(text);
    } finally {
      this.inCondition = outer;
    }
  }

  private call(name: string, argumentText: string, literal: string): string {
    const args = splitArguments(argumentText, MAKE_FUNCTIONS.get(name)!);
    const arg = (index: number) => this.expand(args[index] ?? '');
    switch (name) {
      case 'if': {
        const condition = arg(0).trim();
        // An unknown condition: both branches, as for conditional directives.
        if (isOpaque(condition)) return `${arg(1)} ${arg(2)}`;
        return condition ? arg(1) : arg(2);
      }
      case 'or':
        for (let i = 0; i < args.length; i++) {
          const value = arg(i).trim();
          if (value) return value;
        }
        return '';
      case 'and': {
        let value = '';
        for (let i = 0; i < args.length; i++) if (!(value = arg(i).trim())) return '';
        return value;
      }
      case 'foreach': {
        const variable = arg(0).trim();
        return splitWords(arg(1)).map((word) => this.withBindings([[variable, word]], () => this.expand(args[2] ?? ''))).join(' ');
      }
      case 'call': {
        const called = arg(0).trim();
        const bindings: Array<[string, string]> = [['0', called], ...args.slice(1).map((_, i): [string, string] => [String(i + 1), arg(i + 1)])];
        return this.withBindings(bindings, () => this.valueOf(called));
      }
      case 'value':
        return this.variables.get(arg(0).trim())?.value ?? '';
      case 'origin':
        return this.variables.has(arg(0).trim()) ? 'file' : 'undefined';
      case 'flavor': {
        const variable = this.variables.get(arg(0).trim());
        return variable ? (variable.recursive ? 'recursive' : 'simple') : 'undefined';
      }
      case 'eval':
        this.evaluate(arg(0));
        return '';
      case 'shell':
      case 'info':
      case 'warning':
      case 'error':
        return '';
    }
    const values = args.map((_, i) => arg(i));
    if (!WORDWISE_FUNCTIONS.has(name) && values.some(isOpaque)) return literal;
    const [first = '', second = '', third = ''] = values;
    switch (name) {
      case 'subst':
        return first ? third.split(first).join(second) : third;
      case 'patsubst':
        return splitWords(third).map((word) => patsubstWord(first.trim(), second.trim(), word)).join(' ');
      case 'strip':
        return splitWords(first).join(' ');
      case 'findstring':
        return second.includes(first) ? first : '';
      case 'filter':
      case 'filter-out': {
        const patterns = splitWords(first);
        const keep = name === 'filter';
        return splitWords(second).filter((word) => patterns.some((pattern) => patternMatch(pattern, word) !== undefined) === keep).join(' ');
      }
      case 'sort':
        return [...new Set(splitWords(first))].sort().join(' ');
      case 'word':
        return splitWords(second)[Number(first.trim()) - 1] ?? '';
      case 'wordlist':
        return splitWords(third).slice(Number(first.trim()) - 1, Number(second.trim())).join(' ');
      case 'words':
        return String(splitWords(first).length);
      case 'firstword':
        return splitWords(first)[0] ?? '';
      case 'lastword':
        return splitWords(first).at(-1) ?? '';
      case 'dir':
        return splitWords(first).map((word) => (word.includes('/') ? word.slice(0, word.lastIndexOf('/') + 1) : './')).join(' ');
      case 'notdir':
        return splitWords(first).map((word) => word.slice(word.lastIndexOf('/') + 1)).join(' ');
      case 'suffix':
        return splitWords(first).map((word) => /\.[^./]*$/.exec(word)?.[0] ?? '').filter(Boolean).join(' ');
      case 'basename':
        return splitWords(first).map((word) => word.replace(/\.[^./]*$/, '')).join(' ');
      case 'addsuffix':
        return splitWords(second).map((word) => word + first.trim()).join(' ');
      case 'addprefix':
        return splitWords(second).map((word) => first.trim() + word).join(' ');
      case 'join': {
        const left = splitWords(first);
        const right = splitWords(second);
        return Array.from({ length: Math.max(left.length, right.length) }, (_, i) => (left[i] ?? '') + (right[i] ?? '')).join(' ');
      }
      case 'wildcard':
        return splitWords(first).flatMap((pattern) => wildcard(pattern, this.srctree)).join(' ');
      case 'realpath':
      case 'abspath':
        return splitWords(first).map((word) => path.resolve(this.srctree, word)).join(' ');
    }
    return '';
  }

  /** Runs `body` with variables temporarily set (`$(foreach)`'s variable, `$(call)`'s `$(1)`…). */
  private withBindings<T>(bindings: Array<[string, string]>, body: () => T): T {
    const saved = bindings.map(([name]) => [name, this.variables.get(name)] as const);
    for (const [name, value] of bindings) this.variables.set(name, { value, recursive: false });
    try {
      return body();
    } finally {
      for (const [name, previous] of saved) {
        if (previous) this.variables.set(name, previous);
        else this.variables.delete(name);
      }
    }
  }
}

type ConditionKeyword = 'ifeq' | 'ifneq' | 'ifdef' | 'ifndef';

/** One `if…`/`else`/`endif` block: whether its branch now read is taken, and whether an earlier one was. */
interface ConditionalBlock {
  /** Whether the lines around the block are read at all. */
  outerActive: boolean;
  /** The branch now read: taken (true), not taken (false), or unknown (undefined). */
  current: boolean | undefined;
  /** Whether an earlier branch of the block was taken, in the same three values. */
  earlier: boolean | undefined;
}

/**
 * make's conditional directives, nested, with `else if…` chains. A branch whose condition is unknown is
 * read as taken: its objects stay listed (a module rule then runs on them) rather than silently vanishing,
 * and an out-of-tree Makefile's kbuild half (`ifneq ($(KERNELRELEASE),)`) is found without make's
 * command line. The `else` of an unknown branch is read too, for the same reason.
 */
class Conditionals {
  private readonly blocks: ConditionalBlock[] = [];

  constructor(private readonly decide: (keyword: ConditionKeyword, text: string) => boolean | undefined) {}

  /** Whether lines are read here: every enclosing branch is taken or unknown. */
  get active(): boolean {
    const block = this.blocks.at(-1);
    return !block || (block.outerActive && block.current !== false);
  }

  /** Applies `line` if it is a conditional directive; returns whether it was one. */
  directive(line: string): boolean {
    const opening = /^(ifeq|ifneq|ifdef|ifndef)\b\s*(.*)$/.exec(line);
    if (opening) {
      const outerActive = this.active;
      const current = outerActive ? this.decide(opening[1] as ConditionKeyword, opening[2]!) : false;
      this.blocks.push({ outerActive, current, earlier: current });
      return true;
    }
    const otherwise = /^else\b\s*(?:(ifeq|ifneq|ifdef|ifndef)\b\s*(.*))?$/.exec(line);
    if (otherwise) {
      this.otherwise(otherwise[1] as ConditionKeyword | undefined, otherwise[2] ?? '');
      return true;
    }
    if (/^endif\b/.test(line)) {
      this.blocks.pop();
      return true;
    }
    return false;
  }

  /** `else` or `else if… condition`: taken when no earlier branch was and its own condition holds. */
  private otherwise(keyword: ConditionKeyword | undefined, text: string): void {
    const block = this.blocks.at(-1);
    if (!block || !block.outerActive) return;
    const { earlier } = block;
    if (earlier === true) {
      block.current = false;
      return;
    }
    const own = keyword ? this.decide(keyword, text) : true;
    block.current = earlier === false ? own : own === false ? false : undefined;
    block.earlier = earlier === false ? own : own === true ? true : undefined;
  }
}

/** The two operands of `ifeq (a,b)`, `ifeq "a" "b"`, `ifeq 'a' "b"`; undefined when malformed. */
function conditionOperands(text: string): [string, string] | undefined {
  const trimmed = text.trim();
  if (trimmed.startsWith('(') && closingParen(trimmed, 0) === trimmed.length - 1) {
    const [left, right] = splitArguments(trimmed.slice(1, -1), 2);
    return right === undefined ? undefined : [left!, right];
  }
  const quoted = /^(["'])(.*?)\1\s+(["'])(.*?)\3$/.exec(trimmed);
  return quoted ? [quoted[2]!, quoted[4]!] : undefined;
}

/** Text still holding a reference we could not resolve (an unknown `CONFIG_*`). */
function isOpaque(text: string): boolean {
  return /\$[({]/.test(text);
}

/** Index of the paren closing the one at `open`, counting nested parens of that kind as make does. */
function closingParen(text: string, open: number): number {
  const opening = text[open]!;
  const closing = opening === '(' ? ')' : '}';
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === opening) depth++;
    else if (text[i] === closing && --depth === 0) return i;
  }
  return -1;
}

/** First index of `char` outside any `$(…)`/`${…}`. */
function topLevelIndex(text: string, char: string): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(' || c === '{') depth++;
    else if ((c === ')' || c === '}') && depth > 0) depth--;
    else if (c === char && depth === 0) return i;
  }
  return -1;
}

/** A function's arguments: split at top-level commas, at most `count` (the last keeps the rest). */
function splitArguments(text: string, count: number): string[] {
  const args: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length && args.length < count - 1; i++) {
    const c = text[i];
    if (c === '(' || c === '{') depth++;
    else if (c === ')' || c === '}') depth--;
    else if (c === ',' && depth === 0) {
      args.push(text.slice(start, i));
      start = i + 1;
    }
  }
  args.push(text.slice(start));
  return args;
}

/** `name op value` when the line is a variable assignment (not a rule `target: prerequisites`). */
function splitAssignment(line: string): { name: string; operator: string; value: string } | undefined {
  const body = line.replace(/^(?:(?:override|export|private)\s+)+/, '');
  let depth = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '$' && (body[i + 1] === '(' || body[i + 1] === '{')) {
      depth++;
      i++;
    } else if ((c === '(' || c === '{') && depth > 0) depth++;
    else if ((c === ')' || c === '}') && depth > 0) depth--;
    else if (depth > 0) continue;
    else if (c === ':') {
      const operator = body.startsWith('::=', i) ? '::=' : body[i + 1] === '=' ? ':=' : undefined;
      if (!operator) return undefined;
      return { name: body.slice(0, i).trim(), operator, value: body.slice(i + operator.length).trimStart() };
    } else if (c === '=') {
      const prefixed = i > 0 && '+?!'.includes(body[i - 1]!);
      const name = body.slice(0, prefixed ? i - 1 : i).trim();
      if (!name) return undefined;
      return { name, operator: prefixed ? `${body[i - 1]}=` : '=', value: body.slice(i + 1).trimStart() };
    }
  }
  return undefined;
}

/** The stem a make pattern (`%.o`, or a word without `%`) matches in `word`, or undefined. */
function patternMatch(pattern: string, word: string): string | undefined {
  const percent = pattern.indexOf('%');
  if (percent < 0) return pattern === word ? '' : undefined;
  const prefix = pattern.slice(0, percent);
  const suffix = pattern.slice(percent + 1);
  if (word.length < prefix.length + suffix.length || !word.startsWith(prefix) || !word.endsWith(suffix)) return undefined;
  return word.slice(prefix.length, word.length - suffix.length);
}

function patsubstWord(pattern: string, replacement: string, word: string): string {
  const stem = patternMatch(pattern, word);
  if (stem === undefined) return word;
  return pattern.includes('%') ? replacement.replace('%', stem) : replacement;
}

/** `$(wildcard)` for a pattern whose last part may hold `*`, `?`, `[…]`; paths as written, sorted. */
function wildcard(pattern: string, base: string): string[] {
  const absolute = path.resolve(base, pattern);
  if (!/[*?[]/.test(pattern)) return fs.existsSync(absolute) ? [pattern] : [];
  const dir = path.dirname(absolute);
  if (/[*?[]/.test(path.relative(base, dir))) return [];
  const glob = new RegExp(`^${path.basename(absolute).replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir).filter((name) => glob.test(name)).sort();
  } catch {
    // No such directory: no match, as in make.
  }
  const written = path.dirname(pattern);
  return names.map((name) => (written === '.' && !pattern.startsWith('./') ? name : `${written}/${name}`));
}

/** Most headers considered for one module's own names (a bound for modules inside huge trees). */
const MAX_LOCAL_HEADERS = 3000;
const localHeaderCache = new Map<string, { mtimeMs: number; names: string[]; includes: string[]; imports: string[] }>();

/**
 * Names the module's own headers define as macros or static (inline) functions: the headers its files
 * `#include "…"`, transitively. A quoted include is looked up beside the including file, else by path
 * suffix among the headers of the module's directories (3 levels down) and their parents (2 levels
 * down), where `ccflags-y += -I…` usually points. A kernel function of such a name is then not what the
 * module calls (amdgpu's `#define dm_error(…) DRM_ERROR(…)` is not device-mapper's `dm_error()`).
 */
/** What the module's own headers define (macros, static inlines) and import (`MODULE_IMPORT_NS`). */
export interface LocalHeaders {
  names: Set<string>;
  imports: Set<string>;
}

export function localHeaders(module: ModuleSpec, sources: ReadonlyArray<{ path: string; text: string }>): LocalHeaders {
  // The editor asks on every keystroke; while no file's includes change, neither do the headers.
  const includes = sources.map((source) => `${source.path}:${quotedIncludes(source).join()}`).join('\n');
  const id = `${module.dir}\0${module.name}`;
  const known = recentHeaderNames.get(id);
  if (known?.includes === includes) return known.headers;
  const names = new Set<string>();
  const imports = new Set<string>();
  // The directory walk is only needed for includes not found beside the including file.
  let candidates: string[] | undefined;
  const candidatesOf = () => (candidates ??= candidateHeaders(module));
  const visited = new Set<string>();
  const queue: Array<{ from: string; include: string }> = sources.flatMap((source) => quotedIncludes(source).map((include) => ({ from: source.path, include })));
  while (queue.length > 0 && visited.size < MAX_LOCAL_HEADERS) {
    const { from, include } = queue.shift()!;
    const header = resolveInclude(from, include, candidatesOf);
    if (!header || visited.has(header)) continue;
    visited.add(header);
    const facts = headerFacts(header);
    if (!facts) continue;
    for (const name of facts.names) names.add(name);
    for (const namespace of facts.imports) imports.add(namespace);
    for (const next of facts.includes) queue.push({ from: header, include: next });
  }
  const headers = { names, imports };
  recentHeaderNames.delete(id);
  recentHeaderNames.set(id, { includes, headers });
  // A few modules' worth: the editor's; the CLI visits each module once.
  if (recentHeaderNames.size > 8) recentHeaderNames.delete(recentHeaderNames.keys().next().value!);
  return headers;
}

/** localHeaders' recent answers, by module. */
const recentHeaderNames = new Map<string, { includes: string; headers: LocalHeaders }>();

/** A header changed on disk: local headers must be read again. */
export function forgetLocalHeaders(): void {
  recentHeaderNames.clear();
}

/** Per source object (a parsed file): the editor asks again on every keystroke. */
const includesOf = new WeakMap<object, string[]>();

function quotedIncludes(source: { text: string }): string[] {
  let includes = includesOf.get(source);
  if (!includes) includesOf.set(source, (includes = [...source.text.matchAll(/^[ \t]*#[ \t]*include[ \t]*"([^"]+)"/gm)].map((match) => match[1]!)));
  return includes;
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
function headerFacts(header: string): { names: string[]; includes: string[]; imports: string[] } | undefined {
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
  const imports = [...text.matchAll(/\bMODULE_IMPORT_NS\s*\(\s*"?(\w+)"?\s*\)/g)].map((match) => match[1]!);
  const facts = { mtimeMs, names: [...names], includes: quotedIncludes({ text }), imports };
  localHeaderCache.set(header, facts);
  return facts;
}
