// Sleeping APIs derived from the target kernel's headers, as rows like those of kernel-api/sleeping.ts:
// - every function declared with a gfp_t parameter sleeps iff called with a sleeping mask
//   (`xa_store(xa, i, p, GFP_KERNEL)`, `sg_alloc_table(t, n, GFP_KERNEL)`): a row with that gfpArg;
// - a static inline (or an expression macro) whose body calls a sleeping API on every path sleeps too
//   (`static inline void *kmap(…) { might_sleep(); … }`), or sleeps with its own gfp_t parameter.
// The hand-written table wins where both know a name. Derived once per kdir with a lexical scan of the
// headers the target's configuration selects, and cached on disk beside the header index.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NEUTRAL_GFP_MODIFIERS } from '../kernel-api/gfp';
import { SLEEPING_APIS, sleepsWithArguments, type SleepingApi } from '../kernel-api/sleeping';
import { classifyGfp } from './callGraph';
import { includeDirsOf, kdirIdentity, markUsed, pruneCacheDir, type KernelTarget } from './kernelTarget';
import { forEachHeader, readTextIfPresent } from '../sources';

/** A function of the headers: its parameters and, for inlines and macros, the calls of its body. */
export interface HeaderFunction {
  name: string;
  params: string[];
  /** A prototype (no body): what it does is not visible. */
  prototype: boolean;
  returnsBool: boolean;
  /** `unconditional`: runs whenever the function runs (not under an if, loop, switch, ?:, && or ||). */
  calls: HeaderCall[];
  header: string;
}

export interface HeaderCall { callee: string; args: string[]; unconditional: boolean }

/**
 * Functions that take a gfp_t only to classify it or to pass it to debugging hooks: they never allocate
 * (`gfpflags_allow_blocking`, `kasan_slab_alloc`, `fs_reclaim_acquire`).
 */
const NOT_ALLOCATING = /gfp|^_*(kasan|kmsan|kfence|kmemleak|should_fail|fs_reclaim|memalloc|warn_alloc|trace|lockdep)/i;

const CACHE_WORTHY_MS = 250;
/** The cache of one kdir (Debian's 6.1: 0.4 MB); a bigger file is not ours, and is derived again. */
const MAX_CACHE_BYTES = 16 * 1024 * 1024;

/** Bump when the derivation changes: old cache files are then ignored. */
const FORMAT = 3;

/** Where the cache lives (default ~/.cache/lkm-dev/kdir-sleep), whether to use it, and from what derivation time on (tests: 0). */
export interface CacheOptions { cacheDir?: string; noCache?: boolean; cacheWorthyMs?: number }

/** What the headers of a target tell: its sleeping APIs, and the struct types they define. */
interface HeaderKnowledge { apis: ReadonlyMap<string, SleepingApi>; structs: ReadonlySet<string> }

const derived = new WeakMap<KernelTarget, HeaderKnowledge>();

/** The derived rows of a target (computed once per process and target, cached on disk per kdir). */
export function headerSleepingApis(target: KernelTarget, options: CacheOptions = {}): ReadonlyMap<string, SleepingApi> {
  return knowledgeOf(target, options).apis;
}

/** The struct types the target's headers define (`struct pci_error_handlers`): kernel interfaces, not the module's own. */
export function headerStructs(target: KernelTarget, options: CacheOptions = {}): ReadonlySet<string> {
  return knowledgeOf(target, options).structs;
}

function knowledgeOf(target: KernelTarget, options: CacheOptions): HeaderKnowledge {
  let knowledge = derived.get(target);
  if (!knowledge) derived.set(target, (knowledge = loadOrDerive(target, options)));
  return knowledge;
}

function loadOrDerive(target: KernelTarget, options: CacheOptions): HeaderKnowledge {
  const base = options.cacheDir ?? path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'lkm-dev', 'kdir-sleep');
  const key = cacheKey(target);
  // The format in the name: two versions side by side do not overwrite each other's file.
  const cacheFile = path.join(base, `${crypto.createHash('sha256').update(target.kdir).digest('hex').slice(0, 16)}-v${FORMAT}.json`);
  const cached = options.noCache ? undefined : readCache(cacheFile, key);
  if (cached) return cached;
  const started = performance.now();
  const scan = scanHeaders(includeDirsOf(target.kdir, target.config));
  const apis = deriveSleepingApis(scan.functions);
  // Like the header index, only a big header tree is worth a cache file (test kdirs stay fresh).
  if (!options.noCache && performance.now() - started >= (options.cacheWorthyMs ?? CACHE_WORTHY_MS)) {
    try {
      fs.mkdirSync(base, { recursive: true });
      const temporary = `${cacheFile}.${process.pid}.tmp`;
      fs.writeFileSync(temporary, JSON.stringify({ key, apis: [...apis.values()], structs: [...scan.structs] }));
      fs.renameSync(temporary, cacheFile);
      pruneCacheDir(base);
    } catch {
      // A read-only home: derived again next time.
    }
  }
  return { apis, structs: scan.structs };
}

/** The cached knowledge for `key`; undefined when absent, stale, too big or not well-formed. */
function readCache(cacheFile: string, key: string): HeaderKnowledge | undefined {
  const text = readTextIfPresent(cacheFile, MAX_CACHE_BYTES);
  if (!text) return undefined;
  try {
    const data = JSON.parse(text) as { key: string; apis: SleepingApi[]; structs: string[] };
    const apis = Array.isArray(data.apis) && data.apis.every((api) => typeof api?.name === 'string' && typeof api.reason === 'string');
    const structs = Array.isArray(data.structs) && data.structs.every((name) => typeof name === 'string');
    if (data.key !== key || !apis || !structs) return undefined;
    markUsed(cacheFile);
    return { apis: new Map(data.apis.map((api) => [api.name, api])), structs: new Set(data.structs) };
  } catch {
    return undefined; // a partial or corrupt file: derived again
  }
}

/** The kdir's identity (a rebuilt or reconfigured kernel: kernelTarget.ts) and the hand table the rows are derived from. */
function cacheKey(target: KernelTarget): string {
  const table = crypto.createHash('sha256').update(JSON.stringify(SLEEPING_APIS)).digest('hex').slice(0, 16);
  return `${FORMAT}\n${kdirIdentity(target.kdir)}\n${table}`;
}

/** Every header under the include directories, scanned for functions (first definition of a name wins). */
export function scanHeaders(includeDirs: readonly string[]): { functions: Map<string, HeaderFunction>; structs: Set<string> } {
  const functions = new Map<string, HeaderFunction>();
  const structs = new Set<string>();
  forEachHeader(includeDirs, (source, full, root) => {
    for (const m of source.matchAll(/\bstruct\s+([A-Za-z_]\w*)\s*\{/g)) structs.add(m[1]!);
    // Most headers neither take a gfp_t nor define an inline or macro that calls anything sleeping.
    if (!/gfp_t|static\s+inline|#\s*define\s+\w+\(/.test(source)) return;
    for (const fn of scanHeader(source, path.relative(root, full))) if (!functions.has(fn.name)) functions.set(fn.name, fn);
  });
  return { functions, structs };
}

/** The functions (prototypes, static inline definitions, function-like macros) of one header. */
export function scanHeader(source: string, header: string): HeaderFunction[] {
  // Both branches of an `#if` are read (the first definition of a name wins): a stub and the real
  // function agree on their parameters, and running the preprocessor over every header costs seconds.
  const text = source.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, blankKeepingLines);
  const found: HeaderFunction[] = [];
  for (const m of text.matchAll(/^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)\(([^)]*)\)((?:[^\n\\]|\\\n|\\)*)/gm)) {
    const replacement = m[3]!.replace(/\\\n/g, ' ');
    // A macro body is unconditional when it is a plain expression (no block, branch or short circuit).
    const unconditional = !/\?|&&|\|\||\bif\b|\{/.test(replacement);
    found.push({ name: m[1]!, params: splitTopLevel(m[2]!, ','), prototype: false, returnsBool: false, calls: callsIn(replacement, unconditional), header });
  }
  const code = text.replace(/^[ \t]*#(?:[^\n]*\\\n)*[^\n]*/gm, blankKeepingLines);
  let depth = 0;
  let statementStart = 0;
  let bodyStart = 0;
  let head = '';
  for (let i = 0; i < code.length; i++) {
    const c = code[i];
    if (c === ' ' || c === '\n') continue;
    if (c === '"' || c === "'") i = skipLiteral(code, i);
    else if (c === '{') {
      if (depth++ === 0) { head = code.slice(statementStart, i); bodyStart = i + 1; }
    } else if (c === '}' && depth > 0 && --depth === 0) {
      const signature = functionSignature(head);
      if (signature) {
        const isStatic = /\bstatic\b/.test(head);
        found.push({ ...signature, prototype: !isStatic, calls: isStatic ? bodyCalls(code.slice(bodyStart, i)) : [], header });
        statementStart = i + 1;
      }
    } else if (c === ';' && depth === 0) {
      const signature = functionSignature(code.slice(statementStart, i));
      if (signature) found.push({ ...signature, prototype: true, calls: [], header });
      statementStart = i + 1;
    }
  }
  return found;
}

function blankKeepingLines(text: string): string {
  return text.includes('\n') ? text.replace(/[^\n]/g, ' ') : ' '.repeat(text.length);
}

const KEYWORDS = new Set(['if', 'for', 'while', 'switch', 'return', 'sizeof', 'typeof', '__typeof__', 'do', 'else', 'case', 'defined', '__attribute__', 'asm', '__asm__', 'volatile', '__builtin_expect', 'likely', 'unlikely']);

/** `static inline void *kmap(struct page *page)` → kmap and its parameters; undefined for anything else. */
function functionSignature(head: string): { name: string; params: string[]; returnsBool: boolean } | undefined {
  if (!head.includes('(')) return undefined;
  // Blanked preprocessor lines leave long runs of spaces: collapsed first, the regexes below stay linear.
  let text = head.replace(/\s+/g, ' ').trim();
  // Trailing attributes: `__alloc_size(1)`, `__assume_kmalloc_alignment`.
  for (let previous = ''; previous !== text;) {
    previous = text;
    text = text.replace(/\s+__\w+(\((?:[^()]|\([^()]*\))*\))?$/, '').trim();
  }
  if (!text.endsWith(')') || /[=]/.test(text)) return undefined;
  let depth = 0;
  let open = -1;
  for (let i = text.length - 1; i >= 0; i--) {
    if (text[i] === ')') depth++;
    else if (text[i] === '(' && --depth === 0) { open = i; break; }
  }
  const name = open > 0 ? /([A-Za-z_]\w*)\s*$/.exec(text.slice(0, open))?.[1] : undefined;
  if (!name || KEYWORDS.has(name)) return undefined;
  // A type must come before the name (a bare `FOO(x)` is a macro invocation).
  const returnType = text.slice(0, open - name.length).replace(/\s+$/, ' ');
  if (!/[A-Za-z_]\w*[\s*]+$/.test(returnType)) return undefined;
  return { name, params: splitTopLevel(text.slice(open + 1, -1), ','), returnsBool: /\bbool\s*$/.test(returnType) };
}

/**
 * The calls of a body, each marked unconditional when its statement is at the top level of the body
 * and neither a branch, a loop, a label nor a short-circuit expression.
 */
export function bodyCalls(body: string): HeaderCall[] {
  const calls: HeaderCall[] = [];
  let depth = 0;
  let start = 0;
  const statement = (end: number, topLevel: boolean) => {
    const text = body.slice(start, end).trim();
    start = end + 1;
    const conditional = !topLevel || /^(if|else|for|while|do|switch|case|default|goto)\b|^\w+\s*:(?!:)/.test(text) || /\?|&&|\|\|/.test(text);
    calls.push(...callsIn(text, !conditional));
  };
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '"' || c === "'") i = skipLiteral(body, i);
    else if (c === '(' || c === '{') depth++;
    else if (c === ')' || c === '}') {
      // A compound statement at the top level (`if (…) { … }`, a loop, a block) ends here.
      if (--depth === 0 && c === '}') statement(i, false);
    } else if (c === ';' && depth === 0) statement(i, true);
  }
  return calls;
}

/** The calls of a piece of code (nested ones too): `return __netdev_alloc_skb(dev, len, GFP_ATOMIC)`. */
function callsIn(code: string, unconditional: boolean): HeaderCall[] {
  const calls: HeaderCall[] = [];
  for (const m of code.matchAll(/\b([A-Za-z_]\w*)\s*\(/g)) {
    if (KEYWORDS.has(m[1]!)) continue;
    const open = m.index! + m[0].length - 1;
    const close = matchingParen(code, open);
    if (close < 0) continue;
    calls.push({ callee: m[1]!, args: splitTopLevel(code.slice(open + 1, close), ','), unconditional });
  }
  return calls;
}

function matchingParen(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) return i;
  }
  return -1;
}

function splitTopLevel(list: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of list) {
    if (ch === '(' || ch === '[' || ch === '{') depth++;
    else if (ch === ')' || ch === ']' || ch === '}') depth--;
    if (ch === separator && depth === 0) {
      parts.push(current.trim());
      current = '';
    } else current += ch;
  }
  parts.push(current.trim());
  return parts.length === 1 && (parts[0] === '' || parts[0] === 'void') ? [] : parts;
}

function skipLiteral(text: string, start: number): number {
  const quote = text[start];
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === quote || text[i] === '\n') return i;
  }
  return text.length;
}

/** The parameter name of a declaration (`gfp_t flags` → flags; a macro's parameter is its name). */
function parameterName(param: string): string {
  return /([A-Za-z_]\w*)\s*(?:\[[^\]]*\])?$/.exec(param)?.[1] ?? param;
}

/** The gfp_t (not gfp_t *) parameter of a declaration, if any. */
function gfpParameter(fn: HeaderFunction): number {
  return fn.params.findIndex((p) => /\bgfp_t\b/.test(p) && !p.includes('*'));
}

/** A call that gives back what the caller holds (`cond_resched_rcu` leaves the RCU read side to sleep). */
const RELEASES = /unlock|^(preempt|local_irq|local_bh)_enable$|_restore$/;

/**
 * Rows for the header functions that sleep, given the hand table: a fixpoint, since inlines call
 * inlines (`alloc_skb` → `__alloc_skb`, `ida_alloc` → `ida_alloc_range`).
 * - A prototype with a gfp_t parameter allocates with it (unless it returns bool or is named as a
 *   classifier or debugging hook: NOT_ALLOCATING).
 * - An inline or macro allocates with its gfp_t parameter when it passes it on to one that does.
 * - An inline or macro sleeps when a call on every path sleeps, and nothing released before it.
 */
export function deriveSleepingApis(functions: ReadonlyMap<string, HeaderFunction>): Map<string, SleepingApi> {
  const known = new Map<string, SleepingApi>(SLEEPING_APIS.map((api) => [api.name, api]));
  const apis = new Map<string, SleepingApi>();
  const candidates = [...functions.values()].filter((fn) => !known.has(fn.name) && !NOT_ALLOCATING.test(fn.name) && !fn.returnsBool);
  for (const fn of candidates) {
    const gfp = gfpParameter(fn);
    if (fn.prototype && gfp >= 0) apis.set(fn.name, { name: fn.name, gfpArg: gfp, reason: `allocates with its gfp_t argument (${fn.header})` });
  }
  for (const [name, api] of apis) known.set(name, api);
  for (let changed = true; changed;) {
    changed = false;
    for (const fn of candidates) {
      if (known.has(fn.name) || fn.prototype) continue;
      const row = sleepingCall(fn, known);
      if (row) {
        apis.set(row.name, row);
        known.set(row.name, row);
        changed = true;
      }
    }
  }
  return apis;
}

/** The row of a header inline or macro from the sleeping API its body reaches. */
function sleepingCall(fn: HeaderFunction, known: ReadonlyMap<string, SleepingApi>): SleepingApi | undefined {
  const names = fn.params.map(parameterName);
  const via = (callee: string, api: SleepingApi) => `${api.reason.replace(/ \(via .*\)$/, '')} (via ${callee}() in ${fn.header})`;
  for (const call of fn.calls) {
    if (RELEASES.test(call.callee) && call.unconditional) return undefined;
    const api = known.get(call.callee);
    if (!api || names.includes(call.callee)) continue;
    const inherited = { ...(api.unlessModuleUses ? { unlessModuleUses: api.unlessModuleUses } : {}), ...(api.onlyInProcessContext ? { onlyInProcessContext: true } : {}) };
    if (!sleepsWithArguments(api, call.args)) continue;
    if (api.gfpArg === undefined) {
      if (call.unconditional) return { name: fn.name, reason: via(call.callee, api), ...inherited };
      continue;
    }
    const mask = call.args[api.gfpArg];
    if (mask === undefined) continue;
    // `flags | __GFP_ZERO` is still the caller's mask.
    const own = mask.match(/[A-Za-z_]\w*/g)?.filter((word) => !NEUTRAL_GFP_MODIFIERS.has(word)) ?? [];
    const gfp = own.length === 1 && names.includes(own[0]!) ? { kind: 'param' as const, index: names.indexOf(own[0]!) } : classifyGfp(mask, names.map((name) => ({ name })));
    // Passing its own mask on makes it an allocator of that mask on any path.
    if (gfp.kind === 'param') return { name: fn.name, gfpArg: gfp.index, reason: via(call.callee, api), ...inherited };
    if (gfp.kind === 'sleeps' && call.unconditional) return { name: fn.name, reason: `${via(call.callee, api)} with ${mask}`, ...inherited };
  }
  return undefined;
}
