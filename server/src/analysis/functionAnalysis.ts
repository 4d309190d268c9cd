// Per-function facts of one file: its call sites and, for functions that take, release or test locks
// (or IRQ/BH/preempt/RCU state), the path-sensitive lock analysis over its CFG.
//
// Speed: most functions touch no lock. Their call sites are found lexically in the normalised text (a
// regex pass is ~20× cheaper than walking the tree from JS), and only lock-using functions — about one
// in nine in drivers/ — get a tree walk, a CFG and the dataflow.
import type { Node } from 'web-tree-sitter';
import { LOCK_DROPPING_WAITS, NORETURN_CALLS } from '../kernel-api/macros';
import type { LockAnnotation, NormalizedSource } from '../parsing/normalize';
import { buildCfg, type ExpressionIndex } from './cfg';
import { analyzeLocks, lockOperations, normalizeLockExpression, type HeldLock, type LockAnalysisOptions, type LockAnalysisResult } from './lockState';
import { firstStartingAt, type ParsedFile } from './model';
import type { ReturnKind } from './values';

export interface ArgumentSpan {
  text: string;
  start: number;
  end: number;
}

/** A call in a function body; its arguments are split from the text only when asked for. */
export class CallSite {
  /** An atomic-context lock held at this call on some path. */
  atomicHold?: HeldLock;
  /** Made after this function dropped a lock its caller holds (it sleeps with the caller's lock dropped). */
  callerLockDropped?: boolean;
  /** Follows a call that never returns (`panic()`) in the same block: it cannot run. */
  unreachable?: boolean;
  private split?: { args: ArgumentSpan[]; close: number };

  constructor(
    private readonly text: string,
    /** The called identifier; undefined for calls through expressions (`ops->fn()`). */
    readonly callee: string | undefined,
    /** Offset of the callee name (the call's start). */
    readonly start: number,
    /** Offset of the `(`. */
    readonly open: number,
  ) {}

  /** Offset just past the callee name. */
  get nameEnd(): number {
    return this.start + (this.callee?.length ?? this.text.slice(this.start, this.open).trimEnd().length);
  }

  /** The arguments, split at top-level commas. */
  get args(): ArgumentSpan[] {
    this.split ??= splitArguments(this.text, this.open, this.text.length);
    return this.split.args;
  }

  /** Offset just past the closing parenthesis. */
  get end(): number {
    this.split ??= splitArguments(this.text, this.open, this.text.length);
    return this.split.close;
  }
}

export interface FunctionParameter {
  name: string;
  type: string;
}

export interface FunctionAnalysis {
  name: string;
  node: Node;
  nameNode: Node;
  isStatic: boolean;
  readonly params: FunctionParameter[];
  /** How its return value reads: 0 success (int), non-NULL success (pointer), true success (bool). */
  readonly returnKind: ReturnKind;
  calls: CallSite[];
  annotations: LockAnnotation[];
  /** Present when the function takes, releases or tests locks (or IRQ/BH/preempt/RCU state). */
  locks?: LockAnalysisResult;
  /** Why the lock analysis could not model this function, when it could not. */
  unmodelled?: string;
}

/** The identifier naming a declarator, searching through pointer/parenthesised declarators. */
export function declaratorName(declarator: Node | null): Node | undefined {
  let current = declarator;
  while (current) {
    if (current.type === 'identifier') return current;
    if (current.type === 'function_declarator' || current.type === 'pointer_declarator' || current.type === 'parenthesized_declarator' || current.type === 'array_declarator' || current.type === 'attributed_declarator') {
      current = current.childForFieldName('declarator') ?? current.namedChild(0);
      continue;
    }
    return undefined;
  }
  return undefined;
}

export function functionDeclarator(declarator: Node | null): Node | undefined {
  let current = declarator;
  while (current) {
    if (current.type === 'function_declarator') return current;
    current = current.childForFieldName('declarator');
  }
  return undefined;
}

/** `struct x *f(…)` returns a pointer, `bool f(…)` a bool, `void f(…)` nothing; anything else reads as an int. */
function returnKindOf(definition: Node, fnDeclarator: Node): ReturnKind {
  for (let node = fnDeclarator.parent; node && node.id !== definition.id; node = node.parent) {
    if (node.type === 'pointer_declarator') return 'pointer';
  }
  const type = definition.childForFieldName('type')?.text ?? '';
  if (type === 'bool' || type === '_Bool') return 'bool';
  return type === 'void' ? 'void' : 'int';
}

function parametersOf(fnDeclarator: Node | undefined): FunctionParameter[] {
  const list = fnDeclarator?.childForFieldName('parameters');
  if (!list) return [];
  const params: FunctionParameter[] = [];
  for (const param of list.namedChildren) {
    if (param?.type !== 'parameter_declaration') continue;
    const name = declaratorName(param.childForFieldName('declarator'));
    params.push({ name: name?.text ?? '', type: param.childForFieldName('type')?.text ?? '' });
  }
  return params;
}

/** Top-level function definitions (also those tree-sitter's error recovery nested one level down). */
export function functionDefinitions(file: ParsedFile): Node[] {
  // A cursor visits the top level without materialising a node object for every declaration.
  const found: Node[] = [];
  const cursor = file.tree.rootNode.walk();
  try {
    if (!cursor.gotoFirstChild()) return found;
    do {
      const type = cursor.nodeType;
      if (type === 'function_definition') found.push(cursor.currentNode);
      else if (type === 'ERROR' || type === 'linkage_specification') {
        for (const inner of cursor.currentNode.namedChildren) if (inner?.type === 'function_definition') found.push(inner);
      }
    } while (cursor.gotoNextSibling());
  } finally {
    cursor.delete();
  }
  return found;
}

/** The call sites of text[start, end), from the normaliser's lexical pass. */
export function callsWithin(normalized: NormalizedSource, start: number, end: number): CallSite[] {
  const calls = normalized.calls;
  const result: CallSite[] = [];
  for (let i = firstStartingAt(calls, start, (c) => c.start); i < calls.length && calls[i]!.start < end; i++) {
    const call = calls[i]!;
    result.push(new CallSite(normalized.text, call.name, call.start, call.open));
  }
  return result;
}

/** Top-level comma-separated arguments of the call whose `(` is at `open`. */
export function splitArguments(text: string, open: number, limit: number): { args: ArgumentSpan[]; close: number } {
  const args: ArgumentSpan[] = [];
  let depth = 0;
  let argStart = open + 1;
  const push = (endAt: number) => {
    const raw = text.slice(argStart, endAt);
    const lead = raw.length - raw.trimStart().length;
    const trimmed = raw.trim();
    if (trimmed || args.length > 0) args.push({ text: trimmed, start: argStart + lead, end: argStart + lead + trimmed.length });
  };
  for (let i = open + 1; i < limit; i++) {
    const c = text.charCodeAt(i);
    if (c === 40 || c === 91 || c === 123) depth++;
    else if (c === 41 || c === 93 || c === 125) {
      if (depth === 0) {
        push(i);
        return { args, close: i + 1 };
      }
      depth--;
    } else if (c === 44 && depth === 0) {
      push(i);
      argStart = i + 1;
    } else if (c === 34 || c === 39) {
      for (i++; i < limit && text.charCodeAt(i) !== c; i++) if (text.charCodeAt(i) === 92) i++;
    } else if (c === 47 && text.charCodeAt(i + 1) === 42) {
      const close = text.indexOf('*/', i + 2);
      i = close < 0 ? limit : close + 1;
    }
  }
  return { args, close: limit };
}

export function analyzeFunctions(file: ParsedFile): FunctionAnalysis[] {
  const functions: FunctionAnalysis[] = [];
  const byName = new Map<string, FunctionAnalysis>();
  for (const node of functionDefinitions(file)) {
    const fnDeclarator = functionDeclarator(node.childForFieldName('declarator'));
    const nameNode = declaratorName(fnDeclarator?.childForFieldName('declarator') ?? null);
    const body = node.childForFieldName('body');
    if (!fnDeclarator || !nameNode || !body) continue;
    const isStatic = /\bstatic\b/.test(file.normalized.text.slice(node.startIndex, nameNode.startIndex));
    let params: FunctionParameter[] | undefined;
    let returnKind: ReturnKind | undefined;
    const analysis: FunctionAnalysis = {
      name: nameNode.text, node, nameNode, isStatic,
      // Parameters are read from the tree only when asked for (gfp_t flow, shadowing): most never are.
      get params() {
        params ??= parametersOf(fnDeclarator);
        return params;
      },
      get returnKind() {
        returnKind ??= returnKindOf(node, fnDeclarator);
        return returnKind;
      },
      calls: callsWithin(file.normalized, body.startIndex, body.endIndex), annotations: [],
    };
    functions.push(analysis);
    byName.set(analysis.name, analysis);
  }
  for (const fn of functions) markUnreachableCalls(file.normalized.text, fn);
  const containing = (offset: number) => functions.find((f) => offset >= f.node.startIndex && offset < f.node.endIndex);
  for (const annotation of file.normalized.lockAnnotations) {
    const owner = containing(annotation.offset) ?? prototypeOwner(file.tree.rootNode, annotation.offset, byName);
    owner?.annotations.push(annotation);
  }
  const scopedGuards = [...file.normalized.statementMacros.values()].filter((m) => m.name.startsWith('scoped_')).map((m) => m.offset);

  for (const fn of functions) {
    const usesLocks = fn.annotations.length > 0
      || fn.calls.some((c) => c.callee === 'guard' || lockOperations(c.callee) !== undefined)
      || scopedGuards.some((offset) => offset >= fn.node.startIndex && offset < fn.node.endIndex);
    if (!usesLocks) continue;
    try {
      analyzeFunctionLocks(file, fn);
    } catch (error) {
      // Pathological nesting exhausts the stack of the recursive CFG builder: leave the function
      // unmodelled rather than fail the file.
      if (!(error instanceof RangeError)) throw error;
      fn.locks = undefined;
      fn.unmodelled = 'nesting too deep to model';
    }
  }
  return functions;
}

const noReturn = new Set(NORETURN_CALLS);
const lockDroppingWaits = new Set(LOCK_DROPPING_WAITS);

/** Calls after `panic(…);` up to the end of its block are dead code. */
function markUnreachableCalls(text: string, fn: FunctionAnalysis): void {
  for (const call of fn.calls) {
    if (call.callee === undefined || !noReturn.has(call.callee)) continue;
    let depth = 0;
    let blockEnd = fn.node.endIndex;
    for (let i = call.end; i < fn.node.endIndex; i++) {
      const c = text.charCodeAt(i);
      if (c === 123) depth++;
      else if (c === 125 && --depth < 0) {
        blockEnd = i;
        break;
      }
    }
    for (const other of fn.calls) if (other.start >= call.end && other.start < blockEnd) other.unreachable = true;
  }
}

/** Runs (or re-runs, with module lock helpers' effects) the lock analysis of one function. */
export function analyzeFunctionLocks(file: ParsedFile, fn: FunctionAnalysis, callEffects?: LockAnalysisOptions['callEffects']): void {
  const body = fn.node.childForFieldName('body')!;
  const index: ExpressionIndex = { calls: [], assignments: [], updates: [] };
  for (const node of body.descendantsOfType(['call_expression', 'assignment_expression', 'update_expression'])) {
    if (!node) continue;
    if (node.type === 'call_expression') index.calls.push(node);
    else if (node.type === 'assignment_expression') index.assignments.push(node);
    else index.updates.push(node);
  }
  const cfg = buildCfg(body, { statementMacros: file.normalized.statementMacros, originalText: file.text, index });
  const heldOnEntry = fn.annotations.filter((a) => a.kind !== 'acquires').map((a) => normalizeLockExpression(a.lockExpression));
  fn.locks = analyzeLocks(cfg, {
    heldOnEntry,
    entryNode: fn.nameNode,
    body,
    textOf: (node) => file.text.slice(node.startIndex, node.endIndex),
    callEffects,
  });
  // The lock analysis keys calls by their call_expression's start; a call through a field
  // (`c->ops->reset(c)`) has its lexical call site at the field name: matched by its `(`.
  const expressionStart = new Map<number, number>();
  for (const node of index.calls) {
    const args = node.childForFieldName('arguments');
    if (args && node.childForFieldName('function')?.type !== 'identifier') expressionStart.set(args.startIndex, node.startIndex);
  }
  for (const call of fn.calls) {
    const start = call.callee === undefined ? expressionStart.get(call.open) ?? call.start : call.start;
    call.atomicHold = fn.locks.atomicAtCall.get(start);
    call.callerLockDropped = fn.locks.callsWithCallerLockDropped.has(start) || undefined;
  }
  // The condition and command of a lock-dropping wait run with its lock dropped.
  for (const wait of fn.calls) {
    if (wait.callee === undefined || !lockDroppingWaits.has(wait.callee)) continue;
    for (const inner of fn.calls) if (inner.start > wait.open && inner.start < wait.end) inner.atomicHold = undefined;
  }
}

/** The defined function a prototype annotation (`void f(…) __acquires(x);`) belongs to. */
function prototypeOwner(root: Node, offset: number, byName: Map<string, FunctionAnalysis>): FunctionAnalysis | undefined {
  let node: Node | null = root.descendantForIndex(offset);
  while (node && node.type !== 'declaration' && node.type !== 'translation_unit') node = node.parent;
  if (!node || node.type !== 'declaration') return undefined;
  const name = declaratorName(functionDeclarator(node.childForFieldName('declarator')) ?? null);
  return name ? byName.get(name.text) : undefined;
}
