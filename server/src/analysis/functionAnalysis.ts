// Per-function facts of one file: its call sites and, for functions that touch locks or interrupt /
// preemption / RCU state, the path-sensitive lock analysis over its CFG. Functions that do not touch any
// of those skip the CFG entirely: they cost one pass over their calls.
import type { Node } from 'web-tree-sitter';
import type { LockAnnotation } from '../parsing/normalize';
import { buildCfg } from './cfg';
import { analyzeLocks, lockOperation, normalizeLockExpression, type HeldLock, type LockAnalysisResult } from './lockState';
import type { ParsedFile } from './model';

export interface CallSite {
  /** The called identifier; undefined for calls through expressions (`ops->fn()`). */
  callee: string | undefined;
  node: Node;
  calleeNode: Node | undefined;
  args: Node[];
  /** An atomic-context lock held at this call on some path. */
  atomicHold?: HeldLock;
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
  params: FunctionParameter[];
  calls: CallSite[];
  annotations: LockAnnotation[];
  /** Present when the function takes, releases or tests locks (or IRQ/BH/preempt/RCU state). */
  locks?: LockAnalysisResult;
}

/** The identifier naming a function declarator, searching through pointer/parenthesised declarators. */
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

function functionDeclarator(declarator: Node | null): Node | undefined {
  let current = declarator;
  while (current) {
    if (current.type === 'function_declarator') return current;
    current = current.childForFieldName('declarator');
  }
  return undefined;
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

export function analyzeFunctions(file: ParsedFile): FunctionAnalysis[] {
  const root = file.tree.rootNode;
  const definitions = root.descendantsOfType('function_definition').filter((n): n is Node => n !== null);
  if (definitions.length === 0) return [];
  const functions: FunctionAnalysis[] = [];
  const byStart: FunctionAnalysis[] = [];
  for (const node of definitions) {
    const fnDeclarator = functionDeclarator(node.childForFieldName('declarator'));
    const nameNode = declaratorName(fnDeclarator?.childForFieldName('declarator') ?? null);
    if (!fnDeclarator || !nameNode) continue;
    const isStatic = node.children.some((c) => c?.type === 'storage_class_specifier' && c.text === 'static');
    const analysis: FunctionAnalysis = { name: nameNode.text, node, nameNode, isStatic, params: parametersOf(fnDeclarator), calls: [], annotations: [] };
    functions.push(analysis);
    byStart.push(analysis);
  }
  byStart.sort((a, b) => a.node.startIndex - b.node.startIndex);
  const containing = (offset: number): FunctionAnalysis | undefined => {
    let lo = 0;
    let hi = byStart.length - 1;
    let found: FunctionAnalysis | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const candidate = byStart[mid]!;
      if (candidate.node.startIndex <= offset) {
        found = candidate;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found && offset < found.node.endIndex ? found : undefined;
  };

  for (const call of root.descendantsOfType('call_expression')) {
    if (!call) continue;
    const owner = containing(call.startIndex);
    if (!owner) continue;
    const fn = call.childForFieldName('function');
    const argList = call.childForFieldName('arguments');
    owner.calls.push({
      callee: fn?.type === 'identifier' ? fn.text : undefined,
      node: call,
      calleeNode: fn ?? undefined,
      args: argList ? argList.namedChildren.filter((a): a is Node => a !== null && a.type !== 'comment') : [],
    });
  }

  const byName = new Map(functions.map((f) => [f.name, f]));
  for (const annotation of file.normalized.lockAnnotations) {
    const owner = containing(annotation.offset) ?? prototypeOwner(root, annotation.offset, byName);
    owner?.annotations.push(annotation);
  }
  const guardMacroOffsets = [...file.normalized.statementMacros.values()].filter((m) => m.name.startsWith('scoped_')).map((m) => m.offset);

  for (const fn of functions) {
    const usesLocks = fn.annotations.length > 0
      || fn.calls.some((c) => lockOperation(c.callee) !== undefined || (c.calleeNode?.type === 'call_expression' && c.calleeNode.text.startsWith('guard')))
      || guardMacroOffsets.some((offset) => offset >= fn.node.startIndex && offset < fn.node.endIndex);
    if (!usesLocks) continue;
    const body = fn.node.childForFieldName('body');
    if (!body) continue;
    const cfg = buildCfg(body, { statementMacros: file.normalized.statementMacros, originalText: file.text });
    const heldOnEntry = fn.annotations.filter((a) => a.kind !== 'acquires').map((a) => normalizeLockExpression(a.lockExpression));
    fn.locks = analyzeLocks(cfg, {
      heldOnEntry,
      entryNode: fn.nameNode,
      textOf: (node) => file.text.slice(node.startIndex, node.endIndex),
    });
    for (const call of fn.calls) {
      const hold = fn.locks.atomicAtCall.get(call.node.id);
      if (hold) call.atomicHold = hold;
    }
  }
  return functions;
}

/** The defined function a prototype annotation (`void f(…) __acquires(x);`) belongs to. */
function prototypeOwner(root: Node, offset: number, byName: Map<string, FunctionAnalysis>): FunctionAnalysis | undefined {
  let node: Node | null = root.descendantForIndex(offset);
  while (node && node.type !== 'declaration' && node.type !== 'translation_unit') node = node.parent;
  if (!node || node.type !== 'declaration') return undefined;
  const name = declaratorName(functionDeclarator(node.childForFieldName('declarator')) ?? null);
  return name ? byName.get(name.text) : undefined;
}
