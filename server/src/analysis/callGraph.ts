// The module-wide call graph: "may sleep" summaries flow from callees to callers (a helper that
// allocates with its own gfp_t parameter sleeps only when its caller passes a sleeping mask), and
// "runs atomic" flows from atomic callbacks and lock-holding call sites down to callees.
import { ATOMIC_GFP_MASKS, NEUTRAL_GFP_MODIFIERS, SLEEPING_GFP_MASKS } from '../kernel-api/gfp';
import { SLEEPING_APIS, sleepsWithArguments, type SleepingApi } from '../kernel-api/sleeping';
import { calledField, findRegistrations, isAtomicContext, opsEntries, type Registration } from './context';
import type { CallSite, FunctionAnalysis } from './functionAnalysis';
import type { Node } from 'web-tree-sitter';
import { constantTruth } from './values';
import { rangeAt, type ParsedFile, type Range } from './model';

/** Why a call may sleep: the sleeping API reached, and the chain of module functions leading to it. */
export interface SleepWitness {
  /** The kernel API that sleeps (`msleep`, `kmalloc`). */
  api: string;
  /** `kmalloc with GFP_KERNEL`, `msleep`. */
  description: string;
  reason: string;
  /** Where the sleeping API is called. */
  file: string;
  range: Range;
  /** Module functions between the reported call and the API, outermost first. */
  chain: string[];
  /** The API sleeps only in process context (see SleepingApi.onlyInProcessContext). */
  onlyInProcessContext?: boolean;
  /**
   * The first function of the chain sleeps only after dropping a lock its caller holds (drbd's
   * _conn_request_state drops req_lock before mutex_lock): a caller holding a lock is fine.
   */
  dropsCallerLock?: boolean;
}

export interface FunctionNode {
  fn: FunctionAnalysis;
  file: string;
  /** Sleeps whatever its arguments. */
  sleeps?: SleepWitness;
  /** Sleeps when the gfp_t parameter at this index is a sleeping mask. */
  sleepsWithGfpParam: ReadonlyMap<number, SleepWitness>;
  /** Sleeps when the parameter at `index` passes the guard (`if (may_sleep) msleep(…)`), by guardKey. */
  sleepsWithFlag: ReadonlyMap<string, FlagGuard & { witness: SleepWitness }>;
  /** Registrations that make it run in a context (hard IRQ handler, timer callback…). */
  registrations: Registration[];
  /** Runs in atomic context because an atomic caller or lock-holding call site reaches it. */
  runsAtomicVia?: { caller: string; file: string; range: Range };
  /** Called by some module function (by name). */
  called: boolean;
  /** The module function each of `fn.calls` reaches (resolved once per graph), or undefined. */
  targets: Array<FunctionNode | undefined>;
}

const ZERO_RANGE: Range = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };

export interface SleepResult {
  witness: SleepWitness;
  param?: number;
  flag?: FlagGuard;
}

/**
 * The parameter value a call depends on: its truth (`if (may_sleep)`: `when`), or one of some constants
 * (`switch (state) { case A: case B: … }`, `if (state == A)`: `equals`).
 */
export interface FlagGuard {
  index: number;
  when?: boolean;
  equals?: readonly string[];
  /** With `when`: the truth of `param & bit` (`if (!(flags & CMD_ASYNC)) might_sleep()`). */
  bit?: string;
}

function guardKey(guard: FlagGuard): string {
  return `${guard.index}:${guard.when ?? ''}:${guard.equals?.join('|') ?? ''}:${guard.bit ?? ''}`;
}

/** A constant argument (`QIB_IB_LINKDOWN`, `3`, `0x10`) as written; undefined for anything else. */
function constantToken(text: string): string | undefined {
  const trimmed = text.trim();
  return /^(?:[A-Z][A-Z0-9_]*|-?\d+[uUlL]*|0[xX][0-9a-fA-F]+[uUlL]*)$/.test(trimmed) ? trimmed : undefined;
}

/** Whether an argument passes a guard: undefined when it is not a constant. */
function guardPasses(guard: FlagGuard, argument: string): boolean | undefined {
  if (guard.equals) {
    const value = constantToken(argument);
    return value === undefined ? undefined : guard.equals.includes(value);
  }
  if (guard.bit) {
    // Only a mask made of constants decides: `CMD_ASYNC | CMD_WANT_SKB`, `0`.
    if (!/^[\sA-Z0-9_|()xX]+$/.test(argument)) return undefined;
    return (argument.match(/[A-Z_][A-Z0-9_]*/g) ?? ([] as string[])).includes(guard.bit) === guard.when;
  }
  const truth = constantTruth(argument);
  return truth === undefined ? undefined : truth === guard.when;
}

/** `flags & CMD_ASYNC` with `flags` a parameter: the parameter and the bit. */
function testedBit(condition: Node, caller: FunctionAnalysis): { index: number; bit: string } | undefined {
  if (condition.type !== 'binary_expression' || condition.childForFieldName('operator')?.type !== '&') return undefined;
  const left = condition.childForFieldName('left');
  const right = condition.childForFieldName('right');
  for (const [param, other] of [[left, right], [right, left]] as const) {
    const index = param?.type === 'identifier' ? caller.params.findIndex((p) => p.name === param.text) : -1;
    if (index >= 0 && other && /^[A-Z_][A-Z0-9_]*$/.test(other.text)) return { index, bit: other.text };
  }
  return undefined;
}

/** `state == X` / `X != state` with `state` a parameter and X a constant. */
function comparedWithConstant(condition: Node, caller: FunctionAnalysis): { index: number; value: string; equal: boolean } | undefined {
  if (condition.type !== 'binary_expression') return undefined;
  const operator = condition.childForFieldName('operator')?.type;
  if (operator !== '==' && operator !== '!=') return undefined;
  const left = condition.childForFieldName('left');
  const right = condition.childForFieldName('right');
  for (const [param, other] of [[left, right], [right, left]] as const) {
    const index = param?.type === 'identifier' ? caller.params.findIndex((p) => p.name === param.text) : -1;
    const value = other ? constantToken(other.text) : undefined;
    if (index >= 0 && value !== undefined) return { index, value, equal: operator === '==' };
  }
  return undefined;
}

/** What a parameter must be for `condition` to have this truth; undefined when no parameter decides it. */
function conditionGuard(given: Node | null, truth: boolean, caller: FunctionAnalysis): FlagGuard | undefined {
  let condition = given;
  let when = truth;
  for (;;) {
    if (condition?.type === 'parenthesized_expression') condition = condition.namedChild(0);
    else if (condition?.type === 'unary_expression' && condition.childForFieldName('operator')?.type === '!') {
      when = !when;
      condition = condition.childForFieldName('argument');
    } else break;
  }
  if (!condition) return undefined;
  const operator = condition.type === 'binary_expression' ? condition.childForFieldName('operator')?.type : undefined;
  // `a && b` true, `a || b` false: each operand has that truth.
  if ((operator === '&&' && when) || (operator === '||' && !when)) {
    return conditionGuard(condition.childForFieldName('left'), when, caller) ?? conditionGuard(condition.childForFieldName('right'), when, caller);
  }
  const index = condition.type === 'identifier' ? caller.params.findIndex((p) => p.name === condition!.text) : -1;
  if (index >= 0) return { index, when };
  const tested = testedBit(condition, caller);
  if (tested) return { ...tested, when };
  const compared = comparedWithConstant(condition, caller);
  // `if (state == X)` then-branch, `if (state != X)` else-branch: only when state is X.
  if (compared && compared.equal === when) return { index: compared.index, equals: [compared.value] };
  return undefined;
}

/** `if (!sleep) { …; return; }` before `statement` in its block: what follows runs only when the test failed. */
function earlyExitGuard(statement: Node, caller: FunctionAnalysis): FlagGuard | undefined {
  for (let previous = statement.previousNamedSibling; previous; previous = previous.previousNamedSibling) {
    if (previous.type !== 'if_statement' || previous.childForFieldName('alternative')) continue;
    if (!alwaysReturns(previous.childForFieldName('consequence'))) continue;
    const guard = conditionGuard(previous.childForFieldName('condition'), false, caller);
    if (guard) return guard;
  }
  return undefined;
}

/** A statement that ends in `return` (directly or as its block's last statement), with no label to enter it by. */
function alwaysReturns(statement: Node | null): boolean {
  if (!statement) return false;
  if (statement.type === 'return_statement') return true;
  if (statement.type !== 'compound_statement' || statement.descendantsOfType('labeled_statement').length > 0) return false;
  let last = statement.lastNamedChild;
  while (last?.type === 'comment') last = last.previousNamedSibling;
  return last?.type === 'return_statement';
}

/**
 * The values under which a case of `switch (param)` runs: its own label and those of the cases that fall
 * into it. A group with `default` runs for values that cannot be listed: no guard.
 */
function caseGuard(caseNode: Node, caller: FunctionAnalysis): FlagGuard | undefined {
  let condition = caseNode.parent?.parent?.type === 'switch_statement' ? caseNode.parent.parent.childForFieldName('condition') : null;
  while (condition?.type === 'parenthesized_expression') condition = condition.namedChild(0);
  const index = condition?.type === 'identifier' ? caller.params.findIndex((p) => p.name === condition!.text) : -1;
  if (index < 0) return undefined;
  const values: string[] = [];
  for (let node: Node | null = caseNode; node?.type === 'case_statement'; node = previousCase(node)) {
    if (node !== caseNode && endsCase(node)) break;
    const value = node.childForFieldName('value');
    const constant = value ? constantToken(value.text) : undefined;
    if (constant === undefined) return undefined;
    values.push(constant);
  }
  return values.length > 0 ? { index, equals: values } : undefined;
}

/** The case before this one, past comments (`/* fall through *\/`). */
function previousCase(node: Node): Node | null {
  let previous = node.previousNamedSibling;
  while (previous?.type === 'comment') previous = previous.previousNamedSibling;
  return previous;
}

/** A case whose last statement leaves the switch (break, return, goto, continue): no fall-through. */
function endsCase(caseNode: Node): boolean {
  for (let i = caseNode.namedChildCount - 1; i >= 0; i--) {
    const last = caseNode.namedChild(i)!;
    if (last.type === 'comment') continue;
    return last.id !== caseNode.childForFieldName('value')?.id && /^(break|return|goto|continue)_statement$/.test(last.type);
  }
  return false;
}

export type GfpClass = { kind: 'sleeps' | 'atomic' | 'unknown' } | { kind: 'param'; index: number };

const sleepingApis = new Map<string, SleepingApi>(SLEEPING_APIS.map((api) => [api.name, api]));

export function sleepingApi(name: string | undefined): SleepingApi | undefined {
  return name === undefined ? undefined : sleepingApis.get(name);
}

/** Classifies a gfp_t argument expression. */
export function classifyGfp(text: string, params: readonly { name: string }[]): GfpClass {
  // `GFP_KERNEL & ~__GFP_DIRECT_RECLAIM` removes the reclaim flag: the mask no longer sleeps.
  if (/~\s*\(?\s*__GFP_(?:DIRECT_)?RECLAIM\b/.test(text)) return { kind: 'atomic' };
  const words = (text.match(/[A-Za-z_]\w*/g) ?? []).filter((w) => !NEUTRAL_GFP_MODIFIERS.has(w));
  if (words.some((w) => ATOMIC_GFP_MASKS.has(w))) return { kind: 'atomic' };
  if (words.some((w) => SLEEPING_GFP_MASKS.has(w))) return { kind: 'sleeps' };
  const trimmed = text.trim();
  const index = params.findIndex((p) => p.name === trimmed);
  if (index >= 0) return { kind: 'param', index };
  return { kind: 'unknown' };
}

function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, ' ');
}

const NO_GFP_SLEEPS: ReadonlyMap<number, SleepWitness> = new Map();
const NO_FLAG_SLEEPS: ReadonlyMap<string, FlagGuard & { witness: SleepWitness }> = new Map();

/**
 * What a call of a sleeping kernel API means, per call site (see ModuleCallGraph.callSleeps), per set of
 * rows derived from the target's headers (a kdir change re-derives them).
 */
const apiCallSleeps = new WeakMap<object, WeakMap<CallSite, SleepResult | null>>();
const NO_HEADER_APIS: ReadonlyMap<string, SleepingApi> = new Map();
/** The flag parameter a call depends on, per call site: it depends on the caller's text alone. */
const flagGuards = new WeakMap<CallSite, FlagGuard | null>();
/** Per parsed file, the identifiers it was asked about (see ModuleCallGraph.moduleUses). */
const identifiersUsed = new WeakMap<ParsedFile, Map<string, boolean>>();

function fileUses(file: ParsedFile, identifier: string): boolean {
  let known = identifiersUsed.get(file);
  if (!known) identifiersUsed.set(file, (known = new Map()));
  let used = known.get(identifier);
  if (used === undefined) {
    const word = new RegExp(`\\b${identifier}\\b`);
    used = word.test(file.normalized.text) && word.test(withoutComments(file.normalized.text));
    known.set(identifier, used);
  }
  return used;
}

export class ModuleCallGraph {
  readonly functions: FunctionNode[] = [];
  private readonly byFile = new Map<string, Map<string, FunctionNode>>();
  private readonly global = new Map<string, FunctionNode>();
  private readonly parsedFiles = new Map<string, ParsedFile>();
  readonly registrations: Registration[] = [];

  private readonly apiCache: WeakMap<CallSite, SleepResult | null>;

  /** `headerApis`: sleeping APIs derived from the target kernel's headers (analysis/headerSleep.ts). */
  /**
   * `kernelStructs`: struct types the target's headers define. A call through a field of one of them
   * (`afu_drv->err_handler->error_detected(…)`, `struct pci_error_handlers`) may reach another driver's
   * table, so the module's own stores say nothing about it.
   */
  constructor(files: ReadonlyArray<{ parsed: ParsedFile; functions: FunctionAnalysis[] }>, private readonly headerApis: ReadonlyMap<string, SleepingApi> = NO_HEADER_APIS, private readonly kernelStructs: ReadonlySet<string> = new Set()) {
    let cache = apiCallSleeps.get(headerApis);
    if (!cache) apiCallSleeps.set(headerApis, (cache = new WeakMap()));
    this.apiCache = cache;
    for (const { parsed, functions } of files) {
      const local = new Map<string, FunctionNode>();
      this.byFile.set(parsed.path, local);
      this.parsedFiles.set(parsed.path, parsed);
      for (const fn of functions) {
        // Most functions never sleep: they share the empty maps (a module graph is rebuilt on every keystroke).
        const node: FunctionNode = { fn, file: parsed.path, sleepsWithGfpParam: NO_GFP_SLEEPS, sleepsWithFlag: NO_FLAG_SLEEPS, registrations: [], called: false, targets: [] };
        this.functions.push(node);
        local.set(fn.name, node);
        if (!fn.isStatic && !this.global.has(fn.name)) this.global.set(fn.name, node);
      }
      this.registrations.push(...findRegistrations(parsed, functions));
    }
    for (const node of this.functions) {
      node.targets = node.fn.calls.map((call) => this.resolve(node.file, call.callee));
      node.targets.forEach((target, index) => {
        if (target) this.callSitesOf.set(target, [...(this.callSitesOf.get(target) ?? []), node.fn.calls[index]!]);
      });
    }
    this.resolveIndirectCalls();
    for (const registration of this.registrations) {
      if (registration.processContextIfModuleUses && this.moduleUses(registration.processContextIfModuleUses)) registration.context = 'process';
      this.resolve(registration.file, registration.target)?.registrations.push(registration);
    }
    this.computeSleep();
    this.computeAtomic();
  }

  /** The module's direct calls of each function. */
  private readonly callSitesOf = new Map<FunctionNode, CallSite[]>();

  /**
   * Whether some caller may pass a value for which the guard holds: a function no module code calls gets
   * any value (the kernel calls it), otherwise one call with a non-constant or passing argument is enough.
   * For a sleep under a lock this function takes itself, the report belongs here, not at the callers.
   */
  someCallerMayPass(node: FunctionNode, guard: FlagGuard): boolean {
    const calls = this.callSitesOf.get(node);
    if (!calls) return true;
    return calls.some((call) => {
      const argument = call.args[guard.index];
      return argument !== undefined && guardPasses(guard, argument.text) !== false;
    });
  }

  /** Calls through a field (`priv->ops->bar(…)`) → the module functions stored in that field. */
  private readonly indirectTargets = new Map<CallSite, FunctionNode[]>();

  /**
   * A call through a field may reach every module function the module stores in that field of that
   * struct type (`static const struct foo_ops my_ops = { .bar = my_bar }`, `ops->bar = my_bar`). Where the
   * called object's type is not visible, the stores count only when they all name one struct type.
   */
  private resolveIndirectCalls(): void {
    const stores = new Map<string, Array<{ struct?: string; node: FunctionNode }>>();
    for (const [file, parsed] of this.parsedFiles) {
      for (const entry of opsEntries(parsed)) {
        const node = this.resolve(file, entry.target);
        if (!node) continue;
        const list = stores.get(entry.field) ?? [];
        list.push({ struct: entry.struct, node });
        stores.set(entry.field, list);
      }
    }
    if (stores.size === 0) return;
    for (const node of this.functions) {
      const parsed = this.parsedFiles.get(node.file)!;
      const types = new Map<string, string | undefined>();
      for (const call of node.fn.calls) {
        if (call.callee !== undefined) continue;
        const called = calledField(parsed, call.start, call.open, types);
        const candidates = called && stores.get(called.field);
        if (!candidates) continue;
        const structs = new Set(candidates.map((c) => c.struct));
        const struct = called.struct ?? (structs.size === 1 ? [...structs][0] : undefined);
        const targets = struct === undefined || this.kernelStructs.has(struct) ? [] : [...new Set(candidates.filter((c) => c.struct === struct && c.node !== node).map((c) => c.node))];
        if (targets.length > 0) this.indirectTargets.set(call, targets);
      }
    }
  }

  /** The module function a call by `name` from `file` reaches: the file's own first, then the module's. */
  resolve(file: string, name: string | undefined): FunctionNode | undefined {
    if (name === undefined) return undefined;
    return this.byFile.get(file)?.get(name) ?? this.global.get(name);
  }

  nodeOf(file: string, fn: FunctionAnalysis): FunctionNode | undefined {
    const node = this.byFile.get(file)?.get(fn.name);
    return node?.fn === fn ? node : undefined;
  }

  /** Whether this call may sleep, with the witness; `param` when it depends on the caller's gfp_t parameter. */
  /**
   * Whether this call may sleep, with the witness. `param`: only when the caller's gfp_t parameter at
   * that index is a sleeping mask. `flag`: only when the caller's parameter at that index has that truth
   * (the call sits under `if (may_sleep)`, or passes the parameter on to a callee that does).
   */
  callSleeps(file: string, caller: FunctionAnalysis, call: CallSite, target = this.resolve(file, call.callee)): SleepResult | undefined {
    if (call.callee === undefined) return this.indirectCallSleeps(file, caller, call);
    // A call of a kernel API depends on nothing else in the module (unless the API looks at what the
    // module uses): its answer is kept with the call, which outlives this graph while its file is unchanged.
    const api = target ? undefined : this.api(call.callee);
    if (!target && !api) return undefined;
    const keep = api !== undefined && !api.unlessModuleUses;
    if (keep && this.apiCache.has(call)) return this.apiCache.get(call) ?? undefined;
    let result = this.callSleepsUnguarded(file, caller, call, target);
    // A guard around the call outranks one the callee passed on (one guard per result): under
    // `if (enqueue) … else hdl(type)`, hdl sleeping for some `type` still needs `!enqueue`.
    if (result && result.param === undefined) {
      const guard = this.flagGuard(file, caller, call);
      if (guard) result = { ...result, flag: guard };
    }
    if (keep) this.apiCache.set(call, result ?? null);
    return result;
  }

  /**
   * A call through a field sleeps when every module function stored in that field does: a table filled
   * with both kinds (amdgpu's ring `.begin_use`, sleeping for some rings only) says nothing about this call.
   */
  private indirectCallSleeps(file: string, caller: FunctionAnalysis, call: CallSite): SleepResult | undefined {
    const targets = this.indirectTargets.get(call);
    if (!targets) return undefined;
    let first: SleepResult | undefined;
    for (const target of targets) {
      const result = this.callSleepsUnguarded(file, caller, call, target);
      if (!result) return undefined;
      first ??= result;
    }
    if (first && first.param === undefined) {
      const guard = this.flagGuard(file, caller, call);
      if (guard) return { ...first, flag: guard };
    }
    return first;
  }

  /** The module functions a call through a field may reach (empty for direct calls). */
  indirectTargetsOf(call: CallSite): readonly FunctionNode[] {
    return this.indirectTargets.get(call) ?? [];
  }

  private callSleepsUnguarded(file: string, caller: FunctionAnalysis, call: CallSite, target: FunctionNode | undefined): SleepResult | undefined {
    if (target) {
      if (target.sleeps) return { witness: { ...target.sleeps, chain: [target.fn.name, ...target.sleeps.chain], dropsCallerLock: target.sleeps.dropsCallerLock } };
      for (const { witness, ...guard } of target.sleepsWithFlag.values()) {
        const argument = call.args[guard.index];
        if (!argument) continue;
        const chained = { ...witness, chain: [target.fn.name, ...witness.chain] };
        const passes = guardPasses(guard, argument.text);
        if (passes === true) return { witness: chained };
        if (passes === false) continue;
        const passedOn = caller.params.findIndex((p) => p.name === argument.text);
        if (passedOn >= 0) return { witness: chained, flag: { ...guard, index: passedOn } };
        return { witness: chained };
      }
      for (const [index, witness] of target.sleepsWithGfpParam) {
        const argument = call.args[index];
        if (!argument) continue;
        const gfp = classifyGfp(argument.text, caller.params);
        const chained = { ...witness, chain: [target.fn.name, ...witness.chain], description: `${witness.api} with ${argument.text}` };
        if (gfp.kind === 'sleeps') return { witness: chained };
        if (gfp.kind === 'param') return { witness: chained, param: gfp.index };
      }
      return undefined;
    }
    const api = this.api(call.callee);
    if (!api || this.isShadowed(caller, api.name)) return undefined;
    if (api.unlessModuleUses && this.moduleUses(api.unlessModuleUses)) return undefined;
    const parsed = this.parsedFiles.get(file);
    const base = { api: api.name, reason: api.reason, file, range: parsed ? rangeAt(parsed, call.start, call.nameEnd) : ZERO_RANGE, chain: [] as string[], onlyInProcessContext: api.onlyInProcessContext };
    if (!sleepsWithArguments(api, call.args.map((a) => a.text))) return undefined;
    if (api.gfpArg === undefined) return { witness: { ...base, description: api.name } };
    const argument = call.args[api.gfpArg];
    if (!argument) return undefined;
    const gfp = classifyGfp(argument.text, caller.params);
    const witness = { ...base, description: `${api.name} with ${argument.text}` };
    if (gfp.kind === 'sleeps') return { witness };
    if (gfp.kind === 'param') return { witness, param: gfp.index };
    return undefined;
  }

  /** The innermost `if (param)` / `if (!param)` of the caller that the call depends on (kept with the call). */
  private flagGuard(file: string, caller: FunctionAnalysis, call: CallSite): FlagGuard | undefined {
    if (flagGuards.has(call)) return flagGuards.get(call) ?? undefined;
    const guard = this.findFlagGuard(file, caller, call);
    flagGuards.set(call, guard ?? null);
    return guard;
  }

  /**
   * Walks out from the call: an enclosing `if` on a parameter (any conjunct of an `&&` in its then-branch,
   * any disjunct of an `||` in its else-branch), a `case` of `switch (param)`, or an earlier
   * `if (param) return …;` in an enclosing block (iscsit_cause_connection_reinstatement returns early
   * when `!sleep`, before it waits).
   */
  private findFlagGuard(file: string, caller: FunctionAnalysis, call: CallSite): FlagGuard | undefined {
    const parsed = this.parsedFiles.get(file);
    if (!parsed || caller.params.length === 0) return undefined;
    let child: Node | null = parsed.tree.rootNode.descendantForIndex(call.start);
    let parent = child?.parent ?? null;
    while (child && parent && parent.type !== 'function_definition') {
      if (parent.type === 'if_statement' && child.type !== 'parenthesized_expression') {
        const inThen = parent.childForFieldName('consequence')?.id === child.id;
        const guard = conditionGuard(parent.childForFieldName('condition'), inThen, caller);
        if (guard) return guard;
      }
      if (parent.type === 'case_statement' && parent.childForFieldName('value')?.id !== child.id) {
        const guard = caseGuard(parent, caller);
        if (guard) return guard;
      }
      if (parent.type === 'compound_statement') {
        const guard = earlyExitGuard(child, caller);
        if (guard) return guard;
      }
      child = parent;
      parent = parent.parent;
    }
    return undefined;
  }

  /** The sleeping kernel API by this name: the hand table's row, else one derived from the target's headers. */
  api(name: string | undefined): SleepingApi | undefined {
    return sleepingApi(name) ?? (name === undefined ? undefined : this.headerApis.get(name));
  }

  private readonly uses = new Map<string, boolean>();

  /** Whether any file of the module mentions this identifier (outside inactive #if branches). */
  moduleUses(identifier: string): boolean {
    let used = this.uses.get(identifier);
    if (used === undefined) {
      used = [...this.parsedFiles.values()].some((file) => fileUses(file, identifier));
      this.uses.set(identifier, used);
    }
    return used;
  }

  /** A parameter named like the API (a function pointer) is not the API. */
  private isShadowed(caller: FunctionAnalysis, name: string): boolean {
    return caller.params.some((p) => p.name === name);
  }

  /**
   * "May sleep" from callees to callers with a worklist: every function is evaluated once, then again
   * only when one of its callees learnt that it sleeps (directly, or with a sleeping gfp_t argument).
   */
  private computeSleep(): void {
    const callers = new Map<FunctionNode, Set<FunctionNode>>();
    for (const node of this.functions) {
      for (let index = 0; index < node.fn.calls.length; index++) {
        const call = node.fn.calls[index]!;
        for (const target of this.indirectTargets.get(call) ?? []) {
          if (call.unreachable) continue;
          let set = callers.get(target);
          if (!set) callers.set(target, (set = new Set()));
          set.add(node);
        }
        const target = node.targets[index];
        if (!target) continue;
        target.called = true;
        if (target === node || call.unreachable) continue;
        let set = callers.get(target);
        if (!set) callers.set(target, (set = new Set()));
        set.add(node);
      }
    }
    const queue = [...this.functions];
    const queued = new Set(queue);
    while (queue.length > 0) {
      const node = queue.pop()!;
      queued.delete(node);
      if (this.evaluateSleep(node)) {
        for (const caller of callers.get(node) ?? []) {
          if (!queued.has(caller)) {
            queued.add(caller);
            queue.push(caller);
          }
        }
      }
    }
  }

  /** Re-derives a function's sleep facts from its calls; true when they grew. */
  private evaluateSleep(node: FunctionNode): boolean {
    if (node.sleeps && !node.sleeps.dropsCallerLock) return false;
    let changed = false;
    for (let index = 0; index < node.fn.calls.length; index++) {
      const call = node.fn.calls[index]!;
      const target = node.targets[index];
      if (call.unreachable || target === node) continue;
      const result = this.callSleeps(node.file, node.fn, call, target);
      if (!result) continue;
      if (result.flag) {
        const key = guardKey(result.flag);
        if (!node.sleepsWithFlag.has(key)) {
          node.sleepsWithFlag = new Map(node.sleepsWithFlag).set(key, { ...result.flag, witness: result.witness });
          changed = true;
        }
        continue;
      }
      if (result.param === undefined) {
        // A sleep with the caller's lock still held outranks one made after dropping it. A callee that
        // drops its caller's lock before sleeping drops ours too when we pass it through untouched
        // (tg3_halt → tg3_chip_reset drops tp->lock around synchronize_irq()).
        const dropsCallerLock = call.callerLockDropped || (result.witness.dropsCallerLock && !call.atomicHold) || undefined;
        const witness = { ...result.witness, dropsCallerLock };
        if (node.sleeps && !node.sleeps.dropsCallerLock) continue;
        if (node.sleeps?.dropsCallerLock && witness.dropsCallerLock) continue;
        node.sleeps = witness;
        changed = true;
        if (!witness.dropsCallerLock) break;
        continue;
      }
      if (!node.sleepsWithGfpParam.has(result.param)) {
        node.sleepsWithGfpParam = new Map(node.sleepsWithGfpParam).set(result.param, result.witness);
        changed = true;
      }
    }
    return changed;
  }

  private computeAtomic(): void {
    const queue: FunctionNode[] = [];
    for (const node of this.functions) {
      if (node.registrations.some((r) => isAtomicContext(r.context))) queue.push(node);
      for (let index = 0; index < node.fn.calls.length; index++) {
        const call = node.fn.calls[index]!;
        if (!call.atomicHold) continue;
        const target = node.targets[index];
        if (target && !target.runsAtomicVia && !target.registrations.length) {
          target.runsAtomicVia = { caller: node.fn.name, file: node.file, range: this.rangeOf(node.file, call) };
          queue.push(target);
        }
      }
    }
    while (queue.length > 0) {
      const node = queue.shift()!;
      for (let index = 0; index < node.fn.calls.length; index++) {
        const call = node.fn.calls[index]!;
        const target = node.targets[index];
        if (target && target !== node && !target.runsAtomicVia && !target.registrations.some((r) => isAtomicContext(r.context))) {
          target.runsAtomicVia = { caller: node.fn.name, file: node.file, range: this.rangeOf(node.file, call) };
          queue.push(target);
        }
      }
    }
  }

  /** The range of a call's callee name. */
  rangeOf(file: string, call: CallSite): Range {
    const parsed = this.parsedFiles.get(file);
    return parsed ? rangeAt(parsed, call.start, call.nameEnd) : ZERO_RANGE;
  }

  /** The atomic registration of a function, if it is registered as an atomic callback. */
  atomicRegistration(node: FunctionNode): Registration | undefined {
    return node.registrations.find((r) => isAtomicContext(r.context));
  }
}
