// The target kernel of a lint: a kernel build directory ("kdir", e.g. /lib/modules/$(uname -r)/build).
// Its Module.symvers says which symbols modules may link against (and which only GPL modules may, in
// which namespace); its version and configuration feed the preprocessor; and its headers are indexed so
// that static inline functions and macros are not mistaken for missing exports, and are followed to the
// exported symbols they call (`sysfs_create_file` → `sysfs_create_file_ns`, GPL-only).
//
// The header index uses a small lexical scan, not tree-sitter (thousands of files), over headers whose
// `#if` branches the target's configuration decides (parsing/normalize.ts), and is cached on disk keyed
// by the kdir's identity (kdirIdentity: its path, and the size and mtime of Module.symvers, .config and
// autoconf.h), so only the first load of a kdir pays for it, and a rebuilt or reconfigured one is indexed again.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BLANKED_ANNOTATIONS, BLANKED_ANNOTATIONS_WITH_ARGS } from '../kernel-api/macros';
import { normalize } from '../parsing/normalize';
import { summarizeMacro, type MacroSummary } from './macroBodies';
import { evaluateCondition, kernelVersion, type PreprocessorEnv } from '../parsing/preprocessor';
import { FileRefused, forEachHeader, readTextFileBounded, readTextIfPresent } from '../sources';

export interface KernelExport {
  gplOnly: boolean;
  namespace?: string;
  /** `vmlinux` or the module's path in the build (`drivers/usb/core/usbcore`). */
  module: string;
}

export interface HeaderIndex {
  /** Every macro the headers define (object-like and function-like). */
  macros: Set<string>;
  /** Static (inline) functions defined in headers → the functions their bodies call. */
  inlines: Map<string, string[]>;
  /** Functions declared (prototyped) in headers. */
  functions: Set<string>;
  /** Macros → the identifiers of their replacement text (what an expansion may call). */
  macroExpansions: Map<string, string[]>;
  /**
   * Names defined as a static inline or macro in an `#if` branch that the preprocessor could not decide
   * (e.g. `#if BITS_PER_LONG < 64`): such a name may be a header inline, so it is never "not exported".
   */
  undecidedInlines: Set<string>;
  /**
   * Object-like macros whose bodies are only annotations (attributes, sections, other annotations, or
   * nothing): `#define __net_init __init`. The normaliser blanks them (PreprocessorEnv.annotations).
   */
  annotations: Set<string>;
  /**
   * Function-like macros that define functions from a parameter or leave parameters out of value
   * position (analysis/macroBodies.ts), by name.
   */
  macroSummaries: Map<string, MacroSummary>;
}

export type CallResolutionKind = 'exported' | 'gpl-only' | 'not-exported' | 'header-only' | 'unknown';

export interface CallResolution {
  kind: CallResolutionKind;
  /** For a symbol reached through inlines/macros: the chain from the name to the exported symbol. */
  via?: string[];
  /** The exported symbol the resolution is about (the name itself, or the end of `via`). */
  symbol?: string;
  /** The export's namespace, which the module must import. */
  namespace?: string;
}

export interface KernelTarget {
  kdir: string;
  release?: string;
  versionCode?: number;
  config?: Map<string, string>;
  exports: Map<string, KernelExport>;
  headers: HeaderIndex;
  resolveCall(name: string): CallResolution;
  /** Why exports are not checked although the kdir loaded (a Module.symvers that is empty, garbage or not read). */
  exportsUnchecked?: string;
}

/** How far `resolveCall` follows inlines and macros. */
const MAX_FOLLOW_DEPTH = 3;
/** Header trees indexed faster than this are not cached (the cache key ignores header mtimes). */
const CACHE_WORTHY_MS = 250;
/** Bump when the index format or the way it is built changes: old cache files are then ignored. */
const INDEX_FORMAT = 6;

// ---- which kdir ----------------------------------------------------------------------------------

/**
 * What the editor knows about the active target's kernel (the client fills it in from lkm.targets /
 * lkm.activeTarget; the CLI has no target). For the built-in test VM, `kdir` is the headers dir its
 * modules are built against (or `problem` says why there is none).
 */
export type ActiveTargetKernel =
  | { kind: 'test-vm'; name: string; kdir?: string; problem?: string }
  | { kind: 'ssh'; name: string; build: 'local' | 'remote'; kdir?: string }
  | { kind: 'invalid'; problem: string };

/** What the user can do about a missing or unusable kdir (the editor turns these into actions). */
export type KdirFix = 'install-guest-headers' | 'open-kdir-setting' | 'open-targets-setting';

export interface KdirChoice {
  /** The kernel build dir to lint against; absent: export checks are off. */
  kdir?: string;
  /** Where it comes from, in words ("lkm.kdir", "the test VM's kernel", …). */
  source: string;
  /** Why there is none, when there is none. */
  problem?: string;
  fixes: KdirFix[];
}

/**
 * The one place that decides which kernel build dir the linter checks against, in this order:
 *   1. an explicit kdir (`lkm.kdir`, `lkm-lint --kdir`) always wins;
 *   2. the active target's kernel: the test VM's headers (the dir its modules are built against), an SSH
 *      target's `kdir`; a target that builds remotely without a local `kdir` gets none, with the reason —
 *      its kernel lives on the target, and this machine's headers would be a guess;
 *   3. with no target known (the CLI, which must not depend on an editor's state): the running kernel's
 *      `/lib/modules/$(uname -r)/build`, when it has a Module.symvers.
 * Whether the chosen dir is usable (a readable Module.symvers) is for `loadKernelTarget` to say.
 */
export function resolveKdir(request: { explicit?: string; target?: ActiveTargetKernel }, hostKdir = runningKernelKdir): KdirChoice {
  if (request.explicit) return { kdir: request.explicit, source: 'lkm.kdir', fixes: ['open-kdir-setting'] };
  const target = request.target;
  if (!target) {
    const kdir = hostKdir();
    return kdir
      ? { kdir, source: "this machine's running kernel", fixes: ['open-kdir-setting'] }
      : { source: "this machine's running kernel", problem: `no kernel build dir with a Module.symvers at /lib/modules/${os.release()}/build`, fixes: ['open-kdir-setting'] };
  }
  if (target.kind === 'invalid') return { source: 'the target settings', problem: target.problem, fixes: ['open-targets-setting'] };
  if (target.kind === 'test-vm') {
    const source = `the test VM (${target.name})`;
    const fixes: KdirFix[] = ['install-guest-headers', 'open-kdir-setting'];
    return target.kdir ? { kdir: target.kdir, source, fixes } : { source, problem: target.problem ?? 'its kernel headers were not found', fixes };
  }
  const source = `target ${target.name}`;
  if (target.kdir) return { kdir: target.kdir, source, fixes: ['open-targets-setting'] };
  return {
    source,
    problem: `it builds on the target ("build": "${target.build}") and has no local "kdir", so its kernel's exports are not known here`,
    fixes: ['open-targets-setting', 'open-kdir-setting'],
  };
}

function runningKernelKdir(): string | undefined {
  const candidate = `/lib/modules/${os.release()}/build`;
  return fs.existsSync(path.join(candidate, 'Module.symvers')) ? candidate : undefined;
}

export interface LoadOptions {
  /** Where the header index cache lives; default ~/.cache/lkm-dev/kdir-index (or $XDG_CACHE_HOME). */
  cacheDir?: string;
  /** Skip the on-disk cache (tests, measurements). */
  noCache?: boolean;
  /** Indexes built faster than this are not written to the cache (default CACHE_WORTHY_MS; tests set 0). */
  cacheWorthyMs?: number;
}

/** The files a rebuild or a reconfiguration of a kdir rewrites: their size and mtime identify its build. */
const IDENTITY_FILES = ['Module.symvers', '.config', 'include/generated/autoconf.h'];

/**
 * What the caches derived from a kdir's headers are keyed by: its path, and the size and mtime of
 * IDENTITY_FILES (a file that is absent counts as such). Header mtimes are not part of it: stat-ing
 * thousands of headers would cost what the cache saves, and a headers package is installed whole.
 */
export function kdirIdentity(kdir: string): string {
  const parts = [path.resolve(kdir)];
  for (const file of IDENTITY_FILES) {
    try {
      const stat = fs.statSync(path.join(kdir, file));
      parts.push(`${file} ${stat.size} ${stat.mtimeMs}`);
    } catch {
      parts.push(`${file} absent`);
    }
  }
  return parts.join('\n');
}

export function loadKernelTarget(kdir: string, options: LoadOptions = {}): KernelTarget {
  const root = path.resolve(kdir);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(root);
    fs.accessSync(root, fs.constants.R_OK | fs.constants.X_OK);
  } catch (error) {
    throw new Error(`kernel build directory ${kdir} is not readable: ${(error as Error).message}`);
  }
  if (!stat.isDirectory()) throw new Error(`kernel build directory ${kdir} is not a directory`);
  const symversPath = path.join(root, 'Module.symvers');
  let symvers: string | FileRefused;
  try {
    symvers = readTextFileBounded(symversPath, MAX_SYMVERS_BYTES);
  } catch {
    throw new Error(
      `${kdir} has no readable Module.symvers, so it is not a prepared kernel build directory ` +
        '(install the headers package of the target kernel, e.g. linux-headers-$(uname -r), or build the kernel there)',
    );
  }
  const listed = typeof symvers === 'string' ? parseSymvers(symvers) : new Map<string, KernelExport>();
  const exportsUnchecked = typeof symvers === 'string' ? symversProblem(symvers, listed) : `was not read: ${symvers.reason}`;
  // Half an export list would call every symbol it lacks "not exported": better none.
  const exports = exportsUnchecked ? new Map<string, KernelExport>() : listed;
  const release = readRelease(root);
  const versionCode = readVersionCode(root, release);
  const config = readConfig(root);
  const preprocessorEnv: PreprocessorEnv = { ...(versionCode !== undefined ? { versionCode } : {}), ...(config ? { config } : {}) };
  const headers = loadHeaderIndex(root, preprocessorEnv, config, options);
  // The target never changes once loaded, and the editor re-resolves a module's names on every keystroke.
  const resolutions = new Map<string, CallResolution>();
  const target: KernelTarget = {
    kdir: root,
    ...(release !== undefined ? { release } : {}),
    ...(versionCode !== undefined ? { versionCode } : {}),
    ...(config ? { config } : {}),
    exports,
    headers,
    ...(exportsUnchecked ? { exportsUnchecked: `${symversPath} ${exportsUnchecked}, so exports of the target kernel are not checked` } : {}),
    resolveCall: (name) => {
      let resolution = resolutions.get(name);
      if (!resolution) resolutions.set(name, (resolution = resolve(target, name, 0, new Set())));
      return resolution;
    },
  };
  return target;
}

// ---- resolution ----------------------------------------------------------------------------------

function resolve(target: KernelTarget, name: string, depth: number, visiting: Set<string>): CallResolution {
  const exported = target.exports.get(name);
  if (exported) {
    return { kind: exported.gplOnly ? 'gpl-only' : 'exported', symbol: name, ...(exported.namespace ? { namespace: exported.namespace } : {}) };
  }
  const { inlines, macroExpansions, functions } = target.headers;
  const callees = inlines.get(name) ?? macroExpansions.get(name);
  if (callees) {
    // What a module gets by using a header inline/macro is what its expansion links against: GPL-only
    // and namespaced exports propagate (the most restrictive one reached is reported); a plain export
    // reached is named for information; anything else stays in the header.
    let reached: CallResolution | undefined;
    if (depth < MAX_FOLLOW_DEPTH && !visiting.has(name)) {
      visiting.add(name);
      for (const callee of callees) {
        const inner = resolve(target, callee, depth + 1, visiting);
        if (inner.kind !== 'gpl-only' && inner.kind !== 'exported') continue;
        if (reached && restrictiveness(inner) <= restrictiveness(reached)) continue;
        reached = { ...inner, via: [name, ...(inner.via ?? [callee])] };
        if (inner.kind === 'gpl-only' && inner.namespace) break;
      }
      visiting.delete(name);
    }
    return reached ?? { kind: 'header-only' };
  }
  if (target.headers.macros.has(name) || target.headers.undecidedInlines.has(name)) return { kind: 'header-only' };
  if (functions.has(name)) return target.exportsUnchecked ? { kind: 'unknown' } : { kind: 'not-exported', symbol: name };
  return { kind: 'unknown' };
}

function restrictiveness(resolution: CallResolution): number {
  return (resolution.kind === 'gpl-only' ? 2 : 0) + (resolution.namespace ? 1 : 0);
}

// ---- Module.symvers, release, version, config ----------------------------------------------------

/** `0xcrc<TAB>symbol<TAB>module<TAB>EXPORT_SYMBOL[_GPL]<TAB>namespace` per line. */
export function parseSymvers(text: string): Map<string, KernelExport> {
  const exports = new Map<string, KernelExport>();
  for (const line of text.split('\n')) {
    const fields = symversFields(line);
    if (!fields) continue;
    const [symbol, module, exportType, namespace] = fields;
    exports.set(symbol, {
      gplOnly: exportType.endsWith('_GPL') || exportType.endsWith('_GPL_FUTURE'),
      module,
      ...(namespace?.trim() ? { namespace: namespace.trim() } : {}),
    });
  }
  return exports;
}

/** symbol, module, export type, namespace of a Module.symvers line; undefined when it is not one. */
function symversFields(line: string): [string, string, string, string | undefined] | undefined {
  const [, symbol, module, exportType, namespace] = line.split('\t');
  return symbol && module && exportType ? [symbol, module, exportType, namespace] : undefined;
}

/** Only regular files, and at most MAX_FILE_BYTES of them (sources.ts). */
function readIfPresent(file: string): string | undefined {
  return readTextIfPresent(file);
}

/** The header index cache of one kdir (Debian's 6.1 headers: 9.5 MB); a bigger file is not ours, and is rebuilt. */
const MAX_CACHE_BYTES = 64 * 1024 * 1024;
/** A real Module.symvers is a few MB (Debian's 6.1: 1.7 MB); far more is not one. */
const MAX_SYMVERS_BYTES = 64 * 1024 * 1024;
/** Exported by every kernel that loads modules (mm/slab_common.c): a Module.symvers without it is cut short or not the kernel's. */
const ALWAYS_EXPORTED = 'kfree';

/** Why a Module.symvers cannot be trusted as the kernel's export list ("is empty"), if it cannot. */
export function symversProblem(text: string, exports: ReadonlyMap<string, KernelExport>): string | undefined {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  if (lines.length === 0) return 'is empty';
  const valid = lines.filter((line) => symversFields(line)).length;
  // modpost writes every line the same way: a stray line is damage, mostly other lines are another format.
  if (valid < lines.length / 2) return `is malformed (${lines.length - valid} of ${lines.length} lines are not \`0xCRC<TAB>symbol<TAB>module<TAB>EXPORT_SYMBOL…\`)`;
  if (!exports.has(ALWAYS_EXPORTED)) return `is incomplete (${valid} exports, not even \`${ALWAYS_EXPORTED}\`)`;
  return undefined;
}

function readRelease(kdir: string): string | undefined {
  const uts = readIfPresent(path.join(kdir, 'include/generated/utsrelease.h'));
  const fromUts = uts && /#define\s+UTS_RELEASE\s+"([^"]+)"/.exec(uts)?.[1];
  return fromUts || readIfPresent(path.join(kdir, 'include/config/kernel.release'))?.trim() || undefined;
}

function readVersionCode(kdir: string, release: string | undefined): number | undefined {
  for (const relative of ['include/generated/uapi/linux/version.h', 'include/linux/version.h']) {
    const text = readIfPresent(path.join(kdir, relative));
    const code = text && /#define\s+LINUX_VERSION_CODE\s+(\d+)/.exec(text)?.[1];
    if (code) return Number(code);
  }
  const parts = release && /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  return parts ? kernelVersion(Number(parts[1]), Number(parts[2]), Number(parts[3] ?? 0)) : undefined;
}

/** `.config` (CONFIG_X=y|m|value) or else include/generated/autoconf.h (#define CONFIG_X 1 / CONFIG_X_MODULE 1). */
export function readConfig(kdir: string): Map<string, string> | undefined {
  const dotConfig = readIfPresent(path.join(kdir, '.config'));
  if (dotConfig !== undefined) {
    const config = new Map<string, string>();
    for (const match of dotConfig.matchAll(/^(CONFIG_\w+)=(.*)$/gm)) config.set(match[1]!, match[2]!.replace(/^"(.*)"$/, '$1'));
    return config;
  }
  const autoconf = readIfPresent(path.join(kdir, 'include/generated/autoconf.h'));
  if (autoconf === undefined) return undefined;
  const config = new Map<string, string>();
  for (const match of autoconf.matchAll(/^#define\s+(CONFIG_\w+)\s+(.*?)\s*$/gm)) {
    const [, name = '', value = ''] = match;
    if (name.endsWith('_MODULE') && value === '1') config.set(name.slice(0, -'_MODULE'.length), 'm');
    else if (!config.has(name)) config.set(name, value === '1' ? 'y' : value.replace(/^"(.*)"$/, '$1'));
  }
  return config;
}

// ---- header discovery ----------------------------------------------------------------------------

const ARCH_BY_CONFIG: ReadonlyArray<[string, string]> = [
  ['CONFIG_X86', 'x86'], ['CONFIG_ARM64', 'arm64'], ['CONFIG_ARM', 'arm'], ['CONFIG_RISCV', 'riscv'],
  ['CONFIG_PPC', 'powerpc'], ['CONFIG_S390', 's390'], ['CONFIG_MIPS', 'mips'], ['CONFIG_LOONGARCH', 'loongarch'],
];
const ARCH_BY_NODE: Readonly<Record<string, string>> = { x64: 'x86', ia32: 'x86', arm64: 'arm64', arm: 'arm', riscv64: 'riscv', ppc64: 'powerpc', s390x: 's390', mips: 'mips', loong64: 'loongarch' };

/**
 * The source tree the build directory was made from: itself, or (Debian's split packages, `make O=`
 * builds) the directory its Makefile includes / its `source` link points at.
 */
export function sourceDirOf(kdir: string): string {
  const makefile = readIfPresent(path.join(kdir, 'Makefile'));
  const included = makefile && /^\s*include\s+(\S+)\/Makefile\s*$/m.exec(makefile)?.[1];
  if (included && fs.existsSync(path.join(included, 'include', 'linux'))) return included;
  const minusC = makefile && /-C\s+(\S+)/.exec(makefile)?.[1];
  if (minusC && fs.existsSync(path.join(minusC, 'include', 'linux'))) return path.resolve(kdir, minusC);
  const sourceLink = path.join(kdir, 'source');
  if (fs.existsSync(path.join(sourceLink, 'include', 'linux'))) return fs.realpathSync(sourceLink);
  return kdir;
}

function archOf(kdir: string, sourceDir: string, config: Map<string, string> | undefined): string | undefined {
  for (const [option, arch] of ARCH_BY_CONFIG) if (config?.get(option) === 'y') return arch;
  for (const dir of [kdir, sourceDir]) {
    try {
      const arches = fs.readdirSync(path.join(dir, 'arch')).filter((name) => fs.existsSync(path.join(dir, 'arch', name, 'include')));
      if (arches.length === 1) return arches[0];
    } catch {
      // no arch/ here
    }
  }
  return ARCH_BY_NODE[process.arch];
}

/** The include directories a module build uses, in kbuild's order, that exist. */
export function includeDirsOf(kdir: string, config?: Map<string, string>): string[] {
  const sourceDir = sourceDirOf(kdir);
  const arch = archOf(kdir, sourceDir, config);
  const candidates = [
    ...(arch ? [`arch/${arch}/include`, `arch/${arch}/include/generated`] : []).flatMap((relative) => [path.join(kdir, relative), path.join(sourceDir, relative)]),
    path.join(kdir, 'include'),
    path.join(sourceDir, 'include'),
  ];
  return [...new Set(candidates)].filter((dir) => fs.existsSync(dir));
}

// ---- header index --------------------------------------------------------------------------------

interface CachedIndex {
  format: number;
  /** kdirIdentity() of the kdir when the index was built. */
  identity: string;
  macros: string[];
  inlines: Array<[string, string[]]>;
  functions: string[];
  macroExpansions: Array<[string, string[]]>;
  undecidedInlines: string[];
  annotations: string[];
  macroSummaries: Array<[string, MacroSummary]>;
}

function cacheDirectory(options: LoadOptions): string {
  if (options.cacheDir) return options.cacheDir;
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'lkm-dev', 'kdir-index');
}

function loadHeaderIndex(kdir: string, env: PreprocessorEnv, config: Map<string, string> | undefined, options: LoadOptions): HeaderIndex {
  // The format in the name: two versions of the extension (or a CLI beside it) do not overwrite each other's file.
  const cacheFile = path.join(cacheDirectory(options), `${crypto.createHash('sha256').update(kdir).digest('hex').slice(0, 16)}-v${INDEX_FORMAT}.json`);
  const identity = kdirIdentity(kdir);
  const cached = options.noCache ? undefined : readCachedIndex(cacheFile, identity);
  if (cached) return cached;
  const started = performance.now();
  const index = buildHeaderIndex(includeDirsOf(kdir, config), env);
  // Only a big header tree is worth a cache file; small ones (test kdirs being edited) are always fresh.
  if (!options.noCache && performance.now() - started >= (options.cacheWorthyMs ?? CACHE_WORTHY_MS)) writeCachedIndex(cacheFile, identity, index);
  return index;
}

/** The cached index of a kdir whose identity is `identity`; undefined when absent, stale, too big or not well-formed. */
function readCachedIndex(cacheFile: string, identity: string): HeaderIndex | undefined {
  const text = readTextIfPresent(cacheFile, MAX_CACHE_BYTES);
  if (!text) return undefined;
  let data: CachedIndex;
  try {
    data = JSON.parse(text) as CachedIndex;
  } catch {
    return undefined; // a partial or corrupt file: rebuilt
  }
  if (data?.format !== INDEX_FORMAT || data.identity !== identity || !wellFormed(data)) return undefined;
  markUsed(cacheFile);
  return {
    macros: new Set(data.macros), inlines: new Map(data.inlines), functions: new Set(data.functions),
    macroExpansions: new Map(data.macroExpansions), undecidedInlines: new Set(data.undecidedInlines), annotations: new Set(data.annotations),
    macroSummaries: new Map(data.macroSummaries),
  };
}

/** Names are strings and name lists arrays of strings: a damaged file must not put anything else in the index. */
function wellFormed(data: CachedIndex): boolean {
  const names = (list: unknown) => Array.isArray(list) && list.every((name) => typeof name === 'string');
  const pairs = (list: unknown, value: (v: unknown) => boolean) => Array.isArray(list) && list.every((entry) => Array.isArray(entry) && entry.length === 2 && typeof entry[0] === 'string' && value(entry[1]));
  const summary = (v: unknown) => !!v && typeof v === 'object' && Array.isArray((v as MacroSummary).notValues) && Array.isArray((v as MacroSummary).passes) && Array.isArray((v as MacroSummary).defines);
  return names(data.macros) && names(data.functions) && names(data.undecidedInlines) && names(data.annotations)
    && pairs(data.inlines, names) && pairs(data.macroExpansions, names) && pairs(data.macroSummaries, summary);
}

function writeCachedIndex(cacheFile: string, identity: string, index: HeaderIndex): void {
  const data: CachedIndex = {
    format: INDEX_FORMAT, identity,
    macros: [...index.macros], inlines: [...index.inlines], functions: [...index.functions], macroExpansions: [...index.macroExpansions],
    undecidedInlines: [...index.undecidedInlines], annotations: [...index.annotations], macroSummaries: [...index.macroSummaries],
  };
  try {
    fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
    // Write then rename, so a concurrent reader never sees half a file.
    const temporary = `${cacheFile}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, JSON.stringify(data));
    fs.renameSync(temporary, cacheFile);
    pruneCacheDir(path.dirname(cacheFile));
  } catch {
    // A read-only home: the index still works, it is just rebuilt next time.
  }
}

/** Makes a cache file the most recent one, so that pruneCacheDir keeps the kdirs used last, not those built last. */
export function markUsed(cacheFile: string): void {
  try {
    const now = new Date();
    fs.utimesSync(cacheFile, now, now);
  } catch {
    // A read-only cache: nothing is pruned from it either.
  }
}

/** Cache files kept per cache folder: the kdirs used last (each index is ~10 MB for a distribution's headers). */
const CACHED_KDIRS = 8;

/** Deletes all but the CACHED_KDIRS most recently used `.json` files of a cache folder (kdirs gone, old versions). */
export function pruneCacheDir(dir: string, keep = CACHED_KDIRS): void {
  const files = fs.readdirSync(dir).filter((name) => name.endsWith('.json')).flatMap((name) => {
    try {
      return [{ file: path.join(dir, name), mtimeMs: fs.statSync(path.join(dir, name)).mtimeMs }];
    } catch {
      return []; // deleted meanwhile
    }
  });
  for (const { file } of files.sort((a, b) => b.mtimeMs - a.mtimeMs).slice(keep)) fs.rmSync(file, { force: true });
}

/** Indexes every `.h` file under the include directories (uapi included: modules use it too). */
export function buildHeaderIndex(includeDirs: string[], env: PreprocessorEnv = {}): HeaderIndex {
  const index: HeaderIndex = { macros: new Set(), inlines: new Map(), functions: new Set(), macroExpansions: new Map(), undecidedInlines: new Set(), annotations: new Set(), macroSummaries: new Map() };
  const objectMacros = new Map<string, string[]>();
  forEachHeader(includeDirs, (text) => indexHeader(text, index, env, objectMacros));
  index.annotations = annotationMacros(objectMacros, index.undecidedInlines);
  return index;
}

/** Names an annotation's body may hold besides annotations: a keyword the annotation adds. */
const ANNOTATION_KEYWORDS = new Set(['inline', '__inline', '__inline__']);
/** C keywords a header redefines (`#define inline inline __gnu_inline …`): never blanked. */
const NOT_ANNOTATIONS = new Set(['inline', 'asm', 'volatile', 'const', 'restrict', 'signed', 'unsigned', 'static', 'extern', 'register']);
const ANNOTATION_NAME = /^_*[a-z][a-z0-9_]*$/;

/**
 * The object-like macros (lower-case names, as kernel annotations are) whose every definition's body is
 * empty or only annotations: the hand list's, an annotation with arguments (`__section(".init.text")`,
 * `__attribute__((cold))`), or another such macro (`__net_init` → `__init`), to a fixed point. A name
 * some undecided branch defines otherwise is left alone.
 */
function annotationMacros(objectMacros: Map<string, string[]>, undecided: ReadonlySet<string>): Set<string> {
  const withArgs = new Set(BLANKED_ANNOTATIONS_WITH_ARGS);
  const annotations = new Set<string>();
  const isAnnotation = (word: string) => BLANKED_ANNOTATIONS.includes(word) || annotations.has(word) || ANNOTATION_KEYWORDS.has(word);
  const bodiesWords = new Map<string, string[][]>();
  for (const [name, bodies] of objectMacros) {
    if (!ANNOTATION_NAME.test(name) || NOT_ANNOTATIONS.has(name) || undecided.has(name)) continue;
    const words = bodies.map((body) => wordsOutsideArguments(body, withArgs));
    if (words.every((list) => list !== undefined)) bodiesWords.set(name, words as string[][]);
  }
  for (let changed = true; changed;) {
    changed = false;
    for (const [name, bodies] of bodiesWords) {
      if (annotations.has(name) || !bodies.every((words) => words.every(isAnnotation))) continue;
      annotations.add(name);
      changed = true;
    }
  }
  return annotations;
}

/** A body's words once `annotation(…)` groups are dropped; undefined when anything but words is left. */
function wordsOutsideArguments(body: string, withArgs: ReadonlySet<string>): string[] | undefined {
  let rest = body.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, ' ');
  for (let guard = 0; guard < 20; guard++) {
    const match = /\b([A-Za-z_]\w*)\s*\(/.exec(rest);
    if (!match) break;
    if (!withArgs.has(match[1]!)) return undefined;
    let depth = 0;
    let end = match.index + match[0].length - 1;
    for (; end < rest.length; end++) {
      if (rest[end] === '(') depth++;
      else if (rest[end] === ')' && --depth === 0) break;
    }
    if (depth !== 0) return undefined;
    rest = `${rest.slice(0, match.index)} ${rest.slice(end + 1)}`;
  }
  const trimmed = rest.trim();
  if (trimmed === '') return [];
  return /^[A-Za-z_]\w*(\s+[A-Za-z_]\w*)*$/.test(trimmed) ? trimmed.split(/\s+/) : undefined;
}

const NOT_CALLEES = new Set([
  'if', 'else', 'while', 'for', 'do', 'switch', 'case', 'return', 'sizeof', 'typeof', '__typeof__', 'defined',
  'struct', 'union', 'enum', 'const', 'volatile', 'unsigned', 'signed', 'int', 'long', 'char', 'short', 'void',
  'bool', 'static', 'inline', 'break', 'continue', 'goto', 'default', 'asm', '__asm__', '__VA_ARGS__', '__builtin_expect',
]);

/** Adds one header's macros, static inline functions and prototypes to the index. */
export function indexHeader(source: string, index: HeaderIndex, env: PreprocessorEnv = {}, objectMacros?: Map<string, string[]>): void {
  // The live `#if` branches for this kernel's configuration; lengths are preserved.
  const normalized = normalize(source, env);
  const text = normalized.text;
  if (normalized.inactiveRanges.length > 0) indexUndecidedBranches(source, normalized.inactiveRanges, index, env);
  const n = text.length;
  let depth = 0;
  let statementStart = 0;
  let bodyStart = 0;
  let header = '';
  let atLineStart = true;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) { atLineStart = true; continue; }
    if (c === 32 || c === 9 || c === 13) continue;
    if (c === 35 /* # */ && atLineStart) {
      const end = directiveEnd(text, i);
      if (depth === 0) indexDirective(text.slice(i, end), index, objectMacros);
      i = end - 1;
      statementStart = end;
      continue;
    }
    atLineStart = false;
    if (c === 47 /* / */ && text.charCodeAt(i + 1) === 42) { const close = text.indexOf('*/', i + 2); i = close < 0 ? n : close + 1; continue; }
    if (c === 47 && text.charCodeAt(i + 1) === 47) { const eol = text.indexOf('\n', i); i = (eol < 0 ? n : eol) - 1; continue; }
    if (c === 34 || c === 39) { i = skipLiteral(text, i) - 1; continue; }
    if (c === 123 /* { */) {
      if (depth === 0) { header = withoutComments(text.slice(statementStart, i)); bodyStart = i + 1; }
      depth++;
    } else if (c === 125 /* } */) {
      if (depth > 0 && --depth === 0) {
        const name = definedFunctionName(header);
        if (name && /\bstatic\b/.test(header)) index.inlines.set(name, calleesIn(text.slice(bodyStart, i)));
        if (!name) continue; // a struct/enum/initializer: its statement goes on to the `;`
        statementStart = i + 1;
      }
    } else if (c === 59 /* ; */ && depth === 0) {
      const name = declaredFunctionName(withoutComments(text.slice(statementStart, i)));
      if (name) index.functions.add(name);
      statementStart = i + 1;
    }
  }
}

const CONDITIONAL = /^[ \t]*#[ \t]*(if|ifdef|ifndef|elif|else|endif)\b(.*)$/gm;

/**
 * Records the inlines and macros of inactive branches whose group condition the preprocessor could not
 * decide (it then takes the first branch): `#if BITS_PER_LONG < 64` / `u64 get_jiffies_64(void);` /
 * `#else` / `static inline u64 get_jiffies_64(void) {…}`. Branches the configuration decided are not
 * recorded (`#ifdef CONFIG_KALLSYMS` / prototype / `#else` / inline stub: the prototype is the truth).
 */
function indexUndecidedBranches(source: string, inactiveRanges: Array<[number, number]>, index: HeaderIndex, env: PreprocessorEnv): void {
  // Each conditional directive's start and line end, with whether its group's conditions are decided.
  const decidedAt = new Map<number, boolean>();
  const groups: boolean[] = [];
  CONDITIONAL.lastIndex = 0;
  for (let match = CONDITIONAL.exec(source); match; match = CONDITIONAL.exec(source)) {
    const [whole, directive = '', rest = ''] = match;
    const condition = rest.replace(/\/\*.*?\*\/|\/\/.*$/g, '').trim();
    const evaluate = (expression: string) => evaluateCondition(expression, env, new Set()) !== undefined;
    let decided: boolean;
    if (directive === 'if') groups.push((decided = evaluate(condition)));
    else if (directive === 'ifdef' || directive === 'ifndef') groups.push((decided = evaluate(`defined(${condition.split(/\s/)[0]})`)));
    else if (directive === 'elif') decided = (groups[groups.length - 1] ?? false) && evaluate(condition);
    else if (directive === 'else') decided = groups[groups.length - 1] ?? false;
    else decided = groups.pop() ?? false;
    // Keyed where normalize() starts an inactive range: at the `#` of an #else/#elif, or at the end of
    // the line of an #if that is false.
    decidedAt.set(match.index + whole.indexOf('#'), decided);
    decidedAt.set(match.index + whole.length, decided);
  }
  for (const [start, end] of inactiveRanges) {
    if (decidedAt.get(start) !== false) continue; // decided by the configuration, or not a conditional we saw
    const branch = source.slice(start, end);
    for (const match of branch.matchAll(/^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)/gm)) index.undecidedInlines.add(match[1]!);
    for (const match of branch.matchAll(/\bstatic\b[^;{}()]*?\b([A-Za-z_]\w*)\s*\([^;{}]*\)[^;{}()]*\{/g)) index.undecidedInlines.add(match[1]!);
  }
}

function withoutComments(text: string): string {
  return text.includes('/') ? text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, ' ') : text;
}

function directiveEnd(text: string, from: number): number {
  let j = from;
  for (;;) {
    const eol = text.indexOf('\n', j);
    if (eol < 0) return text.length;
    const comment = text.indexOf('/*', j);
    if (comment >= 0 && comment < eol) {
      const close = text.indexOf('*/', comment + 2);
      j = close < 0 ? text.length : close + 2;
      continue;
    }
    const last = text.charCodeAt(eol - 1) === 13 ? eol - 2 : eol - 1;
    if (text.charCodeAt(last) !== 92 /* \ */) return eol;
    j = eol + 1;
  }
}

function skipLiteral(text: string, i: number): number {
  const quote = text.charCodeAt(i);
  for (let j = i + 1; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === 92) j++;
    else if (c === quote || c === 10) return j + 1;
  }
  return text.length;
}

function indexDirective(directive: string, index: HeaderIndex, objectMacros?: Map<string, string[]>): void {
  const match = /^#\s*define\s+([A-Za-z_]\w*)(\(([^)]*)\))?([\s\S]*)$/.exec(directive);
  if (!match) return;
  const [, name = '', isFunctionLike, parameters = '', body = ''] = match;
  index.macros.add(name);
  if (isFunctionLike) {
    const summary = summarizeMacro(parameters, body);
    if (summary.notValues.length > 0 || summary.defines.length > 0) index.macroSummaries.set(name, summary);
  }
  if (!isFunctionLike && objectMacros) {
    const bodies = objectMacros.get(name);
    const text = body.replace(/\\\r?\n/g, ' ');
    if (bodies) bodies.push(text);
    else objectMacros.set(name, [text]);
  }
  // Object-like macros are followed only when they alias a function (`#define foo bar` / `bar(…)`):
  // the many constants (`#define X (A | B)`) would only bloat the index.
  if (!isFunctionLike && !/^\s*\(?\s*[A-Za-z_]\w*\s*(\(|\)?\s*$)/.test(body)) return;
  const parameterNames = new Set(parameters.split(',').map((p) => p.trim().replace(/\.\.\.$/, '')));
  const expansion = [...new Set(identifiersIn(body.replace(/\/\*[\s\S]*?\*\//g, ' ')))].filter((word) => !parameterNames.has(word) && word !== name && !NOT_CALLEES.has(word));
  if (expansion.length > 0) index.macroExpansions.set(name, expansion);
}

function identifiersIn(text: string): string[] {
  return text.replace(/"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/g, ' ').match(/[A-Za-z_]\w*/g) ?? [];
}

/** Names called in an inline function's body. */
function calleesIn(body: string): string[] {
  const callees = new Set<string>();
  for (const match of body.replace(/"(?:[^"\\\n]|\\.)*"/g, ' ').matchAll(/\b([A-Za-z_]\w*)\s*\(/g)) {
    if (!NOT_CALLEES.has(match[1]!)) callees.add(match[1]!);
  }
  return [...callees];
}

/** `static inline int foo(struct x *a)` before a `{`: the function's name; undefined for anything else. */
function definedFunctionName(header: string): string | undefined {
  const match = /\b([A-Za-z_]\w*)\s*\(((?:[^()]|\([^()]*\))*)\)\s*$/.exec(header);
  if (!match || NOT_CALLEES.has(match[1]!)) return undefined;
  const before = header.slice(0, match.index);
  if (/[=;]/.test(before) || /\btypedef\b/.test(before) || !/[A-Za-z_]\w*[\s*]*$/.test(before)) return undefined;
  return match[1];
}

/** `int foo(struct x *a)` (a prototype, before its `;`): the function's name; undefined for anything else. */
function declaredFunctionName(statement: string): string | undefined {
  if (/\btypedef\b/.test(statement) || statement.includes('=')) return undefined;
  // The name must open a parameter list: `u64 (*fp)(void)` declares a pointer, not a function `u64`.
  const match = /\b([A-Za-z_]\w*)\s*\((?!\s*\*)/.exec(statement);
  if (!match || NOT_CALLEES.has(match[1]!)) return undefined;
  const before = statement.slice(0, match.index);
  // A return type must precede the name (`DECLARE_PER_CPU(int, x);` has none); `(*fp)(…)` is a pointer.
  if (!/[A-Za-z_]\w*[\s*]*$/.test(before) || /\(\s*\*?\s*$/.test(before)) return undefined;
  return match[1];
}
