// Which names can be macros when a file is compiled, for `#ifdef X` / `defined(X)` (see
// parsing/preprocessor.ts `macroPresence`). A name is
//  - defined for sure when kbuild or the compiler defines it (`__KERNEL__`, `KBUILD_MODNAME`, the target
//    architecture's predefines) or the Kbuild flags of the file's folder pass `-DX` unconditionally;
//  - defined nowhere when no header of the kdir defines it (in any branch the configuration leaves
//    possible), no Makefile of the kdir passes it, no header of the module that the file includes
//    (through quoted includes, and `<…>` ones in the Kbuild `-I` folders) and no Kbuild flag of its
//    folder or the folders above defines it: then its `#ifdef` branch is dead, as for the compiler;
//  - else it may be defined (a kernel header that defines it may or may not be included; an include
//    that cannot be found may define anything): unknown.
// The module's headers are read only when a file asks about a name the kdir does not know; the kdir's
// names are its header index's (cached on disk with it).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ARCH_PREDEFINES, BUILD_DEFINED, NEVER_DEFINED_IN_KERNEL_C } from '../kernel-api/macros';
import type { KernelTarget } from './kernelTarget';

/** Files read per folder's scope at most (a bound for folders inside huge trees). */
const MAX_SCOPE_FILES = 4000;
/** Bytes of one header or Makefile read at most: a bigger one is not a header a module includes. */
const MAX_FILE_BYTES = 4 * 1024 * 1024;
/** Folders above a file whose Makefiles may pass flags to it (`subdir-ccflags-y`). */
const MAKEFILE_LEVELS = 6;

export type MacroPresence = (name: string) => boolean | undefined;

/** The `macroPresence` of a preprocessor environment for `file` against `target` (or none). */
export function macroPresenceFor(file: string, text: string, target: KernelTarget | undefined): MacroPresence {
  const absolute = path.resolve(file);
  const known = targetNames(target);
  let flags: KbuildFlags | undefined;
  let included: Set<string> | undefined | null = null;
  return (name) => {
    const fixed = known.fixed.get(name);
    if (fixed !== undefined) return fixed;
    flags ??= kbuildFlags(path.dirname(absolute), target);
    if (flags.defined.has(name)) return true;
    if (!target || known.anywhere(name) || flags.mentioned.has(name) || isReservedUnknown(name)) return undefined;
    if (included === null) included = namesIncluded(absolute, text, flags.includeDirs);
    return included === undefined || included.has(name) ? undefined : false;
  };
}

/** Compiler-reserved `__x__` names not listed are left unknown: the compiler may predefine them. */
function isReservedUnknown(name: string): boolean {
  return name.length > 4 && name.startsWith('__') && name.endsWith('__');
}

// ---- the target's names ----------------------------------------------------------------------------

interface TargetNames {
  /** Names whose presence the build decides whatever the file includes. */
  fixed: Map<string, boolean>;
  /** Whether the kdir's headers or Makefiles may define a name (its header index's sets, not a copy). */
  anywhere: (name: string) => boolean;
}

const targetNamesCache = new WeakMap<object, TargetNames>();
const NO_TARGET: TargetNames = { fixed: fixedNames(undefined), anywhere: () => false };

function targetNames(target: KernelTarget | undefined): TargetNames {
  if (!target) return NO_TARGET;
  let names = targetNamesCache.get(target);
  if (!names) {
    const { macros, undecidedInlines } = target.headers;
    let makefileDefines: Set<string> | undefined;
    const anywhere = (name: string) => macros.has(name) || undecidedInlines.has(name) || (makefileDefines ??= new Set(kdirMakefileDefines(target.kdir))).has(name);
    targetNamesCache.set(target, (names = { fixed: fixedNames(target.config), anywhere }));
  }
  return names;
}

function fixedNames(config: ReadonlyMap<string, string> | undefined): Map<string, boolean> {
  const fixed = new Map<string, boolean>();
  for (const name of BUILD_DEFINED) fixed.set(name, true);
  for (const name of NEVER_DEFINED_IN_KERNEL_C) fixed.set(name, false);
  if (!config) return fixed;
  fixed.set('__clang__', config.get('CONFIG_CC_IS_CLANG') === 'y');
  // Each architecture's predefines: the target's are defined, the others' are not.
  const own = new Set(ARCH_PREDEFINES.filter(([option]) => config.get(option) === 'y').flatMap(([, names]) => names));
  if (own.size === 0) return fixed;
  for (const [, names] of ARCH_PREDEFINES) for (const name of names) fixed.set(name, own.has(name));
  return fixed;
}

/** `-DX` names in the kdir's own Makefiles (the top one, the architectures', scripts'): they may be defined. */
function kdirMakefileDefines(kdir: string): string[] {
  const files: string[] = [];
  const addMakefiles = (dir: string) => {
    for (const name of listDir(dir)) if (/^(?:Makefile|Kbuild)/.test(name) || name.endsWith('.mk')) files.push(path.join(dir, name));
  };
  for (const root of new Set([kdir, sourceOf(kdir)])) {
    addMakefiles(root);
    addMakefiles(path.join(root, 'scripts'));
    for (const arch of listDir(path.join(root, 'arch'))) addMakefiles(path.join(root, 'arch', arch));
  }
  return files.flatMap((file) => [...(readBounded(file) ?? '').matchAll(/-D([A-Za-z_]\w*)/g)].map((match) => match[1]!));
}

/** The source tree a Debian-style kdir's Makefile includes (its headers, its Makefiles). */
function sourceOf(kdir: string): string {
  const included = /^\s*include\s+(\S+)\/Makefile\s*$/m.exec(readBounded(path.join(kdir, 'Makefile')) ?? '')?.[1];
  return included ? path.resolve(kdir, included) : kdir;
}

// ---- Kbuild flags ------------------------------------------------------------------------------------

interface KbuildFlags {
  /** `-DX` passed to every file of the folder, unconditionally. */
  defined: Set<string>;
  /** Any other `-DX` of the folder's or an upper folder's Makefile (conditional, for one object…). */
  mentioned: Set<string>;
  /** `-I` folders of those Makefiles that exist. */
  includeDirs: string[];
}

/** Variables whose `-D`/`-I` reach every file of the folder (`subdir-ccflags-y` also the folders below). */
const FOLDER_FLAGS = /^(?:ccflags-y|EXTRA_CFLAGS|subdir-ccflags-y|ccflags|KBUILD_CFLAGS|cflags-y)$/;
const FLAG_ASSIGNMENT = /^\s*(?:override\s+|export\s+)?([\w$().-]+)\s*(?::?=|\+=|\?=)(.*)$/;

const kbuildFlagsCache = new Map<string, KbuildFlags>();

function kbuildFlags(dir: string, target: KernelTarget | undefined): KbuildFlags {
  const key = `${dir}\0${target?.kdir ?? ''}`;
  let flags = kbuildFlagsCache.get(key);
  if (flags) return flags;
  flags = { defined: new Set(), mentioned: new Set(), includeDirs: [] };
  let current = dir;
  for (let level = 0; level < MAKEFILE_LEVELS; level++) {
    const makefiles = ['Kbuild', 'Makefile'].map((name) => path.join(current, name)).filter((file) => fs.existsSync(file));
    if (makefiles.length === 0 && level > 0) break;
    for (const makefile of makefiles) readFlags(makefile, dir, level === 0, target, flags);
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  kbuildFlagsCache.set(key, flags);
  return flags;
}

function readFlags(makefile: string, fileDir: string, ownFolder: boolean, target: KernelTarget | undefined, flags: KbuildFlags): void {
  const makeDir = path.dirname(makefile);
  let conditionalDepth = 0;
  for (const rawLine of (readBounded(makefile) ?? '').replace(/\\\r?\n/g, ' ').split('\n')) {
    const line = rawLine.replace(/(^|[^\\])#.*$/, '$1');
    if (/^\s*(?:ifeq|ifneq|ifdef|ifndef)\b/.test(line)) conditionalDepth++;
    else if (/^\s*endif\b/.test(line)) conditionalDepth = Math.max(0, conditionalDepth - 1);
    if (!line.includes('-D') && !line.includes('-I')) continue;
    const assignment = FLAG_ASSIGNMENT.exec(line);
    if (!assignment) continue;
    const variable = configured(assignment[1]!, target);
    const everyFile = conditionalDepth === 0 && (ownFolder ? FOLDER_FLAGS.test(variable) : variable === 'subdir-ccflags-y');
    for (const word of assignment[2]!.split(/\s+/)) {
      const define = /^-D([A-Za-z_]\w*)/.exec(word)?.[1];
      if (define) (everyFile ? flags.defined : flags.mentioned).add(define);
      const include = /^-I(.+)$/.exec(word)?.[1];
      if (include) flags.includeDirs.push(...includeDirCandidates(include, makeDir, fileDir, target));
    }
  }
}

/** `ccflags-$(CONFIG_FOO)` as the target's configuration makes it (`ccflags-y` when FOO=y). */
function configured(variable: string, target: KernelTarget | undefined): string {
  return variable.replace(/\$[({](CONFIG_\w+)[)}]/g, (whole, option: string) => {
    const value = target?.config?.get(option);
    return target?.config ? (value === 'y' || value === 'm' ? value : '') : whole;
  });
}

/** Where `-I$(srctree)/$(src)/include`, `-I$(src)`, `-Idrivers/foo` point, as existing folders. */
function includeDirCandidates(written: string, makeDir: string, fileDir: string, target: KernelTarget | undefined): string[] {
  const local = written.replace(/\$[({](?:srctree)[)}]\/\$[({](?:src|obj)[)}]|\$[({](?:src|obj|M|PWD|CURDIR|KBUILD_EXTMOD)[)}]/g, makeDir);
  if (local.includes('$(srctree)') || local.includes('${srctree}') || !path.isAbsolute(local)) {
    const relative = local.replace(/^\$[({]srctree[)}]\/?/, '');
    if (relative.includes('$')) return [];
    // The tree root is whichever folder above holds the path; else the kdir's source.
    const roots: string[] = [];
    for (let dir = fileDir; ; dir = path.dirname(dir)) {
      roots.push(dir);
      if (path.dirname(dir) === dir) break;
    }
    if (target) roots.push(sourceOf(target.kdir));
    const found = roots.map((root) => path.join(root, relative)).find((candidate) => isDirectory(candidate));
    return found ? [found] : [];
  }
  return local.includes('$') || !isDirectory(local) ? [] : [local];
}

// ---- names the file's own headers define -----------------------------------------------------------

const includedNamesCache = new Map<string, Set<string> | undefined>();
const definesInFile = new Map<string, { names: string[]; quoted: string[]; angled: string[] }>();

/**
 * Macro names the module's headers that `text` includes define, transitively: quoted includes beside the
 * including file or in the Kbuild `-I` folders, `<…>` includes in those folders (other `<…>` includes
 * are the kernel's, which the kdir's names cover). Undefined when a quoted include is found nowhere:
 * that header may define anything.
 */
function namesIncluded(file: string, text: string, includeDirs: string[]): Set<string> | undefined {
  const start = includesIn(text);
  // Files of one folder with the same includes share the answer.
  const key = `${path.dirname(file)}\0${start.quoted.join()}<${start.angled.join()}`;
  if (includedNamesCache.has(key)) return includedNamesCache.get(key);
  const names = new Set<string>();
  const seen = new Set<string>();
  const queue: Array<{ from: string; quoted: string[]; angled: string[] }> = [{ from: file, ...start }];
  let complete = true;
  while (queue.length > 0 && seen.size < MAX_SCOPE_FILES) {
    const { from, quoted, angled } = queue.shift()!;
    const headers: string[] = [];
    for (const include of quoted) {
      const header = resolveHeader(include, [path.dirname(from), ...includeDirs]);
      if (header) headers.push(header);
      else complete = false;
    }
    for (const include of angled) {
      const header = resolveHeader(include, includeDirs);
      if (header) headers.push(header);
    }
    for (const header of headers) {
      if (seen.has(header)) continue;
      seen.add(header);
      const facts = fileDefines(header);
      for (const name of facts.names) names.add(name);
      queue.push({ from: header, quoted: facts.quoted, angled: facts.angled });
    }
  }
  const result = complete ? names : undefined;
  includedNamesCache.set(key, result);
  // A few folders' worth (the sets of big modules hold thousands of names).
  if (includedNamesCache.size > 16) includedNamesCache.delete(includedNamesCache.keys().next().value!);
  return result;
}

const resolvedHeaders = new Map<string, string | null>();

/** The first of `dirs` that holds `include`, as a path; undefined if none does. Kept: many files share headers. */
function resolveHeader(include: string, dirs: string[]): string | undefined {
  const key = `${include}\0${dirs.join('\0')}`;
  let found = resolvedHeaders.get(key);
  if (found === undefined) {
    found = dirs.map((dir) => path.resolve(dir, include)).find((candidate) => isFile(candidate)) ?? null;
    resolvedHeaders.set(key, found);
  }
  return found ?? undefined;
}

function includesIn(text: string): { quoted: string[]; angled: string[] } {
  const quoted: string[] = [];
  const angled: string[] = [];
  for (const match of text.matchAll(/^[ \t]*#[ \t]*include[ \t]*(?:"([^"]+)"|<([^>]+)>)/gm)) {
    if (match[1] !== undefined) quoted.push(match[1]);
    else angled.push(match[2]!);
  }
  return { quoted, angled };
}

/** A file's `#define` names and includes. */
function fileDefines(file: string): { names: string[]; quoted: string[]; angled: string[] } {
  let facts = definesInFile.get(file);
  if (!facts) {
    const text = readBounded(file) ?? '';
    facts = { names: detached([...text.matchAll(/^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)/gm)].map((match) => match[1]!)), ...includesIn(text) };
    remember(definesInFile, file, facts);
  }
  return facts;
}

/** A header changed on disk: the names of the headers must be read again. */
export function forgetMacroScopes(): void {
  keptNames.delete(definesInFile);
  keptNames.delete(headerNames);
  recentOwnNames.clear();
  headerNames.clear();
  includedNamesCache.clear();
  resolvedHeaders.clear();
  definesInFile.clear();
  kbuildFlagsCache.clear();
}

// ---- the module's own headers through include paths ----------------------------------------------

/** Headers followed per module at most. */
const MAX_MODULE_HEADERS = 1000;
const recentOwnNames = new Map<string, OwnHeaders>();
const headerNames = new Map<string, HeaderFacts>();

interface HeaderFacts {
  /** Macro, static function and enumerator names (enumerators marked with a leading NUL). */
  names: string[];
  /** Object-like macros whose body is a name or a string: name, body. */
  values: Array<[string, string]>;
  quoted: string[];
  angled: string[];
}

export interface OwnHeaders {
  names: Set<string>;
  /** The object-like name and string macros of every header the module includes (`#define DRV_LICENSE "GPL"`). */
  valueMacros: Map<string, string>;
}

/**
 * Names the module's own headers give it that `localHeaders` (quoted includes, kbuild.ts) does not see:
 * the macros, static functions and enumerators of headers reached through the Kbuild `-I` folders by
 * `#include <…>` (rtl8723bs's `ccflags-y += -I$(src)/include`), and the enumerators of every header of
 * the module (`enum { i2c_read, i2c_write }`), transitively. The same object while no include changes.
 */
export function ownHeaders(sources: ReadonlyArray<{ path: string; text: string }>, target: KernelTarget | undefined): OwnHeaders {
  const starts = sources.map((source) => ({ from: source.path, ...includesIn(source.text) }));
  const key = starts.map((start) => `${start.from}:${start.quoted.join()}<${start.angled.join()}`).join('\n');
  const known = recentOwnNames.get(key);
  if (known) return known;
  const names = new Set<string>();
  const valueMacros = new Map<string, string>();
  const seen = new Set<string>();
  const queue: Array<{ header: string; viaIncludePath: boolean }> = [];
  const enqueue = (from: string, quoted: string[], angled: string[], viaIncludePath: boolean) => {
    const includeDirs = kbuildFlags(path.dirname(from), target).includeDirs;
    for (const include of quoted) queue.push({ header: path.resolve(path.dirname(from), include), viaIncludePath });
    for (const include of angled) {
      const found = includeDirs.map((dir) => path.join(dir, include)).find((candidate) => fs.existsSync(candidate));
      if (found) queue.push({ header: found, viaIncludePath: true });
    }
  };
  for (const start of starts) enqueue(start.from, start.quoted, start.angled, false);
  while (queue.length > 0 && seen.size < MAX_MODULE_HEADERS) {
    const { header, viaIncludePath } = queue.shift()!;
    if (seen.has(`${viaIncludePath}:${header}`)) continue;
    seen.add(`${viaIncludePath}:${header}`);
    const facts = headerNamesOf(header);
    if (!facts) continue;
    for (const name of viaIncludePath ? facts.names : facts.names.filter((name) => name.startsWith('\0'))) names.add(name.replace(/^\0/, ''));
    for (const [name, body] of facts.values) if (!valueMacros.has(name)) valueMacros.set(name, body);
    enqueue(header, facts.quoted, facts.angled, viaIncludePath);
  }
  const own = { names, valueMacros };
  recentOwnNames.set(key, own);
  // A few modules' worth: the editor's; the CLI visits each module once.
  if (recentOwnNames.size > 8) recentOwnNames.delete(recentOwnNames.keys().next().value!);
  return own;
}


function headerNamesOf(header: string): HeaderFacts | undefined {
  let facts = headerNames.get(header);
  if (facts) return facts;
  const text = readBounded(header);
  if (text === undefined) return undefined;
  const code = text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, ' ');
  const names = new Set<string>();
  for (const match of code.matchAll(/^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)/gm)) names.add(match[1]!);
  for (const match of code.matchAll(/\bstatic\b[^;{}()=]*?\b([A-Za-z_]\w*)\s*\([^;{}]*\)[^;{}()]*\{/g)) names.add(match[1]!);
  for (const name of enumeratorsIn(code)) names.add(`\0${name}`);
  const values = [...code.matchAll(/^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)[ \t]+("[^"\n]*"[^\n]*?|[A-Za-z_]\w*)[ \t]*$/gm)].map((match): [string, string] => [match[1]!, match[2]!]);
  facts = { names: detached([...names]), values, ...includesIn(text) };
  remember(headerNames, header, facts);
  return facts;
}

/** The enumerators of every `enum … { … }` of a (comment-free) text. */
export function enumeratorsIn(code: string): string[] {
  const names: string[] = [];
  for (const match of code.matchAll(/\benum\b[\s\w]*\{([^{}]*)\}/g)) {
    for (const item of match[1]!.split(',')) {
      const name = /^\s*([A-Za-z_]\w*)/.exec(item.replace(/^\s*#.*$/gm, ''))?.[1];
      if (name) names.push(name);
    }
  }
  return names;
}

// ---- bounded memory ------------------------------------------------------------------------------

/**
 * Names of header facts kept at most, per cache: a few modules' worth (the CLI goes through a tree module
 * by module; one register header of amdgpu defines tens of thousands).
 */
const MAX_KEPT_NAMES = 200_000;
const keptNames = new WeakMap<Map<string, { names: string[] }>, number>();

function remember<V extends { names: string[] }>(map: Map<string, V>, key: string, value: V): void {
  map.set(key, value);
  let kept = (keptNames.get(map) ?? 0) + value.names.length;
  while (kept > MAX_KEPT_NAMES && map.size > 1) {
    const oldest = map.keys().next().value!;
    kept -= map.get(oldest)!.names.length;
    map.delete(oldest);
  }
  keptNames.set(map, kept);
}

/**
 * Names copied out of the text they were matched in: a matched substring may keep its whole file
 * alive (V8 slices), and a big module's headers run to tens of megabytes.
 */
function detached(names: string[]): string[] {
  return names.length === 0 ? names : names.join('\n').split('\n');
}

// ---- bounded reads -----------------------------------------------------------------------------------

function readBounded(file: string): string | undefined {
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile() || stat.size > MAX_FILE_BYTES) return undefined;
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function isDirectory(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}
