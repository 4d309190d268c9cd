// Control-flow graph of one C function, built from the tree-sitter tree. It knows C, not the kernel:
// statements become nodes holding ordered events (calls, assignments, guard scopes, returns), and
// conditions are lowered with short-circuit semantics into branch nodes on "atoms", so a lock analysis
// can follow `if (!spin_trylock(&l))` or `if (ret)` edge by edge.
import type { Node } from 'web-tree-sitter';
import type { StatementMacro } from '../parsing/normalize';
import { firstStartingAt } from './model';
import { constantTruth } from './values';
import { NORETURN_CALLS } from '../kernel-api/macros';

const noReturn = new Set(NORETURN_CALLS);

export type CfgEvent =
  | { kind: 'call'; node: Node; callee: string | undefined; args: Node[] }
  /** `within`: an iterator macro advancing its cursor; only what the loop itself took is renamed. */
  | { kind: 'assign'; variable: string; value: Node | null; node: Node; within?: [number, number] }
  /** `guard(class)(&lock)` or a `scoped_guard(class, &lock)` head: held until `scopeExit` of `scope`. */
  | { kind: 'guard'; guardClass: string; lockArg: Node | null; scope: number; node: Node; conditional: boolean }
  | { kind: 'scopeExit'; scopes: number[] }
  | { kind: 'return'; node: Node }
  /** A goto/break/continue about to leave: where a leak along this edge is reported. */
  | { kind: 'jump'; node: Node }
  /** `f(&x)`: the callee may change `x`, so what the path knew of it is gone. */
  | { kind: 'clobber'; variable: string };

/** A branch condition, reduced to one operand tested for truth. */
export interface Atom {
  node: Node;
  /** The branch's true edge means the operand is false (`!x`, `x == 0`). */
  negated: boolean;
  /** Identifier operand (`ret`, `locked`), possibly after an assignment inside the condition. */
  variable?: string;
  /** Call operand (`spin_trylock(&l)`). */
  call?: Node;
  /**
   * Text of a side-effect-free operand, for path correlation (`if (shared) lock … if (shared) unlock`);
   * absent for loop conditions, which are re-tested with changing values.
   */
  correlationKey?: string;
  /** Constant operand: the branch has one feasible edge. */
  constant?: boolean;
  /** The test was `x < 0` (or `x >= 0` with the edges swapped): the true edge knows an error code. */
  negative?: boolean;
  /** A switch case `subject == value`: false wherever the path knows `subject` equals another value. */
  equality?: { subject: string; value: string };
}

export interface CfgNode {
  id: number;
  events: CfgEvent[];
  /** When set, succ[0] is the true edge and succ[1] the false edge. */
  branch?: Atom;
  succ: number[];
}

export interface Cfg {
  nodes: CfgNode[];
  entry: number;
  exit: number;
}

export interface CfgOptions {
  /** The function's calls, assignments and updates in document order, collected in one tree walk. */
  index: ExpressionIndex;
  /** Iterator/scope macros the normaliser turned into `while`, by offset of the `while`. */
  statementMacros: ReadonlyMap<number, StatementMacro>;
  /** The original (un-normalised) text: macro names and arguments are read from it. */
  originalText: string;
}

export interface ExpressionIndex {
  calls: Node[];
  assignments: Node[];
  updates: Node[];
}

/** The nodes of a sorted list that lie within [start, end). */
function nodesWithin(sorted: readonly Node[], start: number, end: number): Node[] {
  const result: Node[] = [];
  for (let i = firstStartingAt(sorted, start, (n) => n.startIndex); i < sorted.length && sorted[i]!.startIndex < end; i++) {
    if (sorted[i]!.endIndex <= end) result.push(sorted[i]!);
  }
  return result;
}

interface LoopContext {
  breakTarget: number;
  continueTarget: number;
  scopeDepth: number;
}

/** Operands, member access, comparisons and arithmetic; no assignment, increment or comma. */
const PURE_EXPRESSION = /^(?:[\w\s.,\[\]&*!()~|^+/%<>?:]|->|-(?!-)|[=!<>]=|"[^"\\]*")+$/;

export function buildCfg(functionBody: Node, options: CfgOptions): Cfg {
  const nodes: CfgNode[] = [];
  const newNode = (): CfgNode => {
    const node: CfgNode = { id: nodes.length, events: [], succ: [] };
    nodes.push(node);
    return node;
  };
  const edge = (from: CfgNode | null, to: CfgNode) => {
    if (from && !from.branch) from.succ.push(to.id);
  };
  const entry = newNode();
  const exit = newNode();
  const labels = new Map<string, CfgNode>();
  const labelNode = (name: string) => {
    let node = labels.get(name);
    if (!node) {
      node = newNode();
      labels.set(name, node);
    }
    return node;
  };
  const loops: LoopContext[] = [];
  /** Scopes (compound statements holding guards, scoped_guard bodies) currently open, innermost last. */
  const scopes: number[] = [];
  /** The switch being lowered: its cases in order (value text; undefined for `default:`). */
  let switchContext: { cases: Array<{ node: CfgNode; value: string | undefined }> } | undefined;

  /** Appends events to `current`, or a fresh node when `current` ends in a branch. */
  const append = (current: CfgNode | null, ...events: CfgEvent[]): CfgNode | null => {
    if (!current) return null;
    let target = current;
    if (current.branch || current.succ.length > 0) {
      target = newNode();
      edge(current, target);
    }
    target.events.push(...events);
    return target;
  };

  const expressionEvents = (expression: Node | null): CfgEvent[] => {
    if (!expression) return [];
    const events: Array<{ at: number; event: CfgEvent }> = [];
    const calls = nodesWithin(options.index.calls, expression.startIndex, expression.endIndex);
    const seen = new Set<number>();
    for (const call of calls) {
      if (!call || seen.has(call.id)) continue;
      seen.add(call.id);
      const fn = call.childForFieldName('function');
      const argList = call.childForFieldName('arguments');
      const args = argList ? argList.namedChildren.filter((a): a is Node => a !== null && a.type !== 'comment') : [];
      // `guard(class)(&lock)`: a call of a call.
      if (fn?.type === 'call_expression') {
        const inner = fn.childForFieldName('function');
        if (inner?.type === 'identifier' && inner.text === 'guard') {
          const className = fn.childForFieldName('arguments')?.namedChildren[0]?.text ?? '';
          const scope = scopes[scopes.length - 1] ?? functionBody.id;
          events.push({ at: call.endIndex, event: { kind: 'guard', guardClass: className, lockArg: args[0] ?? null, scope, node: call, conditional: false } });
          seen.add(fn.id);
          continue;
        }
      }
      const callee = fn?.type === 'identifier' ? fn.text : undefined;
      events.push({ at: call.endIndex, event: { kind: 'call', node: call, callee, args } });
      for (const arg of args) {
        const target = arg.type === 'pointer_expression' && arg.childForFieldName('operator')?.type === '&' ? arg.childForFieldName('argument') : null;
        if (target?.type === 'identifier') events.push({ at: call.endIndex + 0.25, event: { kind: 'clobber', variable: target.text } });
      }
    }
    const assignments = nodesWithin(options.index.assignments, expression.startIndex, expression.endIndex);
    for (const assignment of assignments) {
      if (!assignment) continue;
      const left = assignment.childForFieldName('left');
      if (left?.type === 'identifier') {
        events.push({ at: assignment.endIndex + 0.5, event: { kind: 'assign', variable: left.text, value: assignment.childForFieldName('right'), node: assignment } });
      }
    }
    for (const update of nodesWithin(options.index.updates, expression.startIndex, expression.endIndex)) {
      const argument = update?.childForFieldName('argument');
      if (update && argument?.type === 'identifier') events.push({ at: update.endIndex + 0.5, event: { kind: 'assign', variable: argument.text, value: null, node: update } });
    }
    events.sort((a, b) => a.at - b.at);
    return events.map((e) => e.event);
  };

  const unwrap = (node: Node): Node => {
    let current = node;
    for (;;) {
      if (current.type === 'parenthesized_expression' && current.namedChildCount === 1) {
        current = current.namedChild(0)!;
        continue;
      }
      if (current.type === 'call_expression') {
        const fn = current.childForFieldName('function');
        const args = current.childForFieldName('arguments')?.namedChildren ?? [];
        if (fn?.type === 'identifier' && (fn.text === 'likely' || fn.text === 'unlikely' || fn.text === 'WARN_ON' || fn.text === 'WARN_ON_ONCE') && args.length === 1 && args[0]) {
          current = args[0];
          continue;
        }
      }
      return current;
    }
  };

  const isZero = (node: Node | null) => !!node && /^(0|NULL|false)$/.test(node.text.trim());

  /** Lowers a condition; returns the nodes reached when it is true and when it is false. */
  const lowerCondition = (condition: Node, from: CfgNode | null, recordFacts: boolean, negative = false): { whenTrue: CfgNode | null; whenFalse: CfgNode | null } => {
    if (!from) return { whenTrue: null, whenFalse: null };
    const expression = unwrap(condition);
    if (expression.type === 'binary_expression') {
      const operator = expression.childForFieldName('operator')?.type;
      const left = expression.childForFieldName('left');
      const right = expression.childForFieldName('right');
      if ((operator === '&&' || operator === '||') && left && right) {
        const first = lowerCondition(left, from, recordFacts);
        if (operator === '&&') {
          const second = lowerCondition(right, first.whenTrue, recordFacts);
          return { whenTrue: second.whenTrue, whenFalse: join(first.whenFalse, second.whenFalse) };
        }
        const second = lowerCondition(right, first.whenFalse, recordFacts);
        return { whenTrue: join(first.whenTrue, second.whenTrue), whenFalse: second.whenFalse };
      }
      if ((operator === '==' || operator === '!=' || operator === '<' || operator === '>=') && left && right && (isZero(right) || isZero(left))) {
        // `x == 0`, `x != NULL`, `ret < 0` (error codes are negative): a truth test of the other operand.
        const operand = isZero(right) ? left : right;
        const negate = operator === '==' || operator === '>=';
        const inner = lowerCondition(operand, from, recordFacts, (operator === '<' || operator === '>=') && isZero(right));
        return negate ? { whenTrue: inner.whenFalse, whenFalse: inner.whenTrue } : inner;
      }
    }
    if (expression.type === 'unary_expression' && expression.childForFieldName('operator')?.type === '!') {
      const inner = lowerCondition(expression.childForFieldName('argument')!, from, recordFacts);
      return { whenTrue: inner.whenFalse, whenFalse: inner.whenTrue };
    }
    let current = append(from, ...expressionEvents(expression));
    const atom: Atom = { node: expression, negated: false, negative: negative || undefined };
    let operand = expression;
    if (operand.type === 'assignment_expression' && operand.childForFieldName('left')?.type === 'identifier') {
      // `(rc = f()) < 0`, `while ((p = next()))`: the test is of the value just assigned, in loops too.
      atom.variable = operand.childForFieldName('left')!.text;
      if (operand.childForFieldName('operator')?.type === '=') atom.correlationKey = atom.variable;
    } else if (operand.type === 'identifier') {
      atom.variable = operand.text;
    } else if (operand.type === 'call_expression') {
      atom.call = operand;
    }
    const text = operand.text;
    if (/^(0|false)$/.test(text)) atom.constant = false;
    else if (/^(1|true)$/.test(text)) atom.constant = true;
    else if (recordFacts && operand.type !== 'assignment_expression' && PURE_EXPRESSION.test(text)) {
      // Calls count as pure here (static_branch_unlikely(&key), test_bit(…)): a key is kept only when the
      // same condition is tested again, and then it is almost always the same question.
      atom.correlationKey = text.replace(/\s+/g, '');
    }
    // `a != b` is the question `a == b` with its edges swapped: ns83820 locks under
    // `if (gfp == GFP_ATOMIC)` and, inside a loop, under `if (gfp != GFP_ATOMIC)`.
    let swapped = false;
    if (atom.correlationKey !== undefined && operand.type === 'binary_expression' && operand.childForFieldName('operator')?.type === '!=') {
      atom.correlationKey = `${operand.childForFieldName('left')!.text}==${operand.childForFieldName('right')!.text}`.replace(/\s+/g, '');
      atom.negated = true;
      swapped = true;
    }
    if (!current) return { whenTrue: null, whenFalse: null };
    if (current.branch || current.succ.length) {
      const next = newNode();
      edge(current, next);
      current = next;
    }
    current.branch = atom;
    const first = newNode();
    const second = newNode();
    current.succ.push(first.id, second.id);
    return swapped ? { whenTrue: second, whenFalse: first } : { whenTrue: first, whenFalse: second };
  };

  /**
   * A switch as the chain of tests it means (`x == A`, else `x == B`, …, else default): a second switch
   * on the same unchanged `x` then follows the case the first one took (hwspinlock takes the lock in one
   * `switch (mode)` and releases it in another).
   */
  const dispatchCases = (head: CfgNode, condition: Node | null, cases: Array<{ node: CfgNode; value: string | undefined }>, after: CfgNode) => {
    const subject = condition ? unwrap(condition).text.replace(/\s+/g, '') : '';
    const keyed = subject !== '' && PURE_EXPRESSION.test(subject) && !/\w\s*\(/.test(subject);
    let current = head;
    for (const { node, value } of cases) {
      if (value === undefined) continue;
      const test = newNode();
      edge(current, test);
      const equality = keyed && !value.includes('...') ? { subject, value } : undefined;
      test.branch = { node: condition!, negated: false, correlationKey: equality ? `${subject}==${value}` : undefined, equality };
      const otherwise = newNode();
      test.succ.push(node.id, otherwise.id);
      current = otherwise;
    }
    edge(current, cases.find((c) => c.value === undefined)?.node ?? after);
  };

  const join = (...parts: Array<CfgNode | null>): CfgNode | null => {
    const live = parts.filter((p): p is CfgNode => p !== null);
    if (live.length === 0) return null;
    if (live.length === 1) return live[0]!;
    const joined = newNode();
    for (const p of live) edge(p, joined);
    return joined;
  };

  const scopeExitTo = (depth: number): CfgEvent[] => (scopes.length > depth ? [{ kind: 'scopeExit', scopes: scopes.slice(depth) }] : []);

  const lowerStatement = (statement: Node | null, current: CfgNode | null): CfgNode | null => {
    if (!statement) return current;
    switch (statement.type) {
      case 'compound_statement': {
        const hasGuard = statement.namedChildren.some((child) => child?.type === 'expression_statement' && /^\s*guard\s*\(/.test(child.text));
        if (hasGuard) scopes.push(statement.id);
        for (const child of statement.namedChildren) current = lowerStatement(child, current);
        if (hasGuard) {
          scopes.pop();
          current = append(current, { kind: 'scopeExit', scopes: [statement.id] });
        }
        return current;
      }
      case 'expression_statement': {
        const events = expressionEvents(statement.namedChild(0));
        const after = append(current, ...events);
        // `panic(…);` ends the path: nothing after it runs, and it is not a return either.
        return events.some((e) => e.kind === 'call' && e.callee !== undefined && noReturn.has(e.callee)) ? null : after;
      }
      case 'declaration': {
        const events: CfgEvent[] = [];
        for (const declarator of statement.childrenForFieldName('declarator')) {
          if (declarator?.type !== 'init_declarator') continue;
          const value = declarator.childForFieldName('value');
          events.push(...expressionEvents(value));
          // `struct intel_dp *intel_dp = …;` declares `intel_dp` too: a fresh object on every pass.
          let name = declarator.childForFieldName('declarator');
          while (name?.type === 'pointer_declarator') name = name.childForFieldName('declarator');
          if (name?.type === 'identifier') events.push({ kind: 'assign', variable: name.text, value, node: declarator });
        }
        return append(current, ...events);
      }
      case 'if_statement': {
        const { whenTrue, whenFalse } = lowerCondition(statement.childForFieldName('condition')!, current, true);
        const afterThen = lowerStatement(statement.childForFieldName('consequence'), whenTrue);
        const alternative = statement.childForFieldName('alternative');
        const afterElse = alternative ? lowerStatement(alternative.type === 'else_clause' ? alternative.namedChild(0) : alternative, whenFalse) : whenFalse;
        return join(afterThen, afterElse);
      }
      case 'while_statement': {
        const macro = options.statementMacros.get(statement.startIndex);
        if (macro && (macro.name === 'scoped_guard' || macro.name === 'scoped_cond_guard')) return lowerScopedGuard(statement, macro, current);
        const head = newNode();
        edge(current ? append(current) : null, head);
        if (!current) return null;
        const after = newNode();
        if (macro) {
          // An iterator macro advances its cursor (`pos`, `entry`, `i`) behind the scenes on every round.
          for (const operand of collectCommaOperands(statement.childForFieldName('condition'))) {
            if (operand.type === 'identifier') head.events.push({ kind: 'assign', variable: operand.text, value: null, node: operand, within: [statement.startIndex, statement.endIndex] });
          }
        }
        const { whenTrue, whenFalse } = lowerCondition(statement.childForFieldName('condition')!, head, false);
        loops.push({ breakTarget: after.id, continueTarget: head.id, scopeDepth: scopes.length });
        const bodyEnd = lowerStatement(statement.childForFieldName('body'), whenTrue);
        loops.pop();
        edge(bodyEnd, head);
        edge(whenFalse, after);
        return after;
      }
      case 'do_statement': {
        if (!current) return null;
        const bodyStart = newNode();
        edge(append(current), bodyStart);
        const conditionNode = newNode();
        const after = newNode();
        loops.push({ breakTarget: after.id, continueTarget: conditionNode.id, scopeDepth: scopes.length });
        const bodyEnd = lowerStatement(statement.childForFieldName('body'), bodyStart);
        loops.pop();
        edge(bodyEnd, conditionNode);
        const { whenTrue, whenFalse } = lowerCondition(statement.childForFieldName('condition')!, conditionNode, false);
        edge(whenTrue, bodyStart);
        edge(whenFalse, after);
        return after;
      }
      case 'for_statement': {
        const initializer = statement.childForFieldName('initializer');
        current = initializer?.type === 'declaration' ? lowerStatement(initializer, current) : append(current, ...expressionEvents(initializer));
        if (!current) return null;
        const head = newNode();
        edge(append(current), head);
        const after = newNode();
        const updateNode = newNode();
        const condition = statement.childForFieldName('condition');
        let whenTrue: CfgNode | null = head;
        let whenFalse: CfgNode | null = null;
        if (condition) ({ whenTrue, whenFalse } = lowerCondition(condition, head, false));
        loops.push({ breakTarget: after.id, continueTarget: updateNode.id, scopeDepth: scopes.length });
        const bodyEnd = lowerStatement(statement.childForFieldName('body'), whenTrue);
        loops.pop();
        edge(bodyEnd, updateNode);
        updateNode.events.push(...expressionEvents(statement.childForFieldName('update')));
        edge(updateNode, head);
        edge(whenFalse, after);
        return after;
      }
      case 'switch_statement': {
        const head = append(current, ...expressionEvents(statement.childForFieldName('condition')));
        if (!head) return null;
        const switchHead = newNode();
        edge(head, switchHead);
        const after = newNode();
        const outer = switchContext;
        const context: NonNullable<typeof switchContext> = { cases: [] };
        switchContext = context;
        loops.push({ breakTarget: after.id, continueTarget: loops[loops.length - 1]?.continueTarget ?? -1, scopeDepth: scopes.length });
        const bodyEnd = lowerStatement(statement.childForFieldName('body'), null);
        loops.pop();
        switchContext = outer;
        dispatchCases(switchHead, statement.childForFieldName('condition'), context.cases, after);
        edge(bodyEnd, after);
        return after;
      }
      case 'case_statement': {
        const caseNode = newNode();
        const value = statement.childForFieldName('value');
        switchContext?.cases.push({ node: caseNode, value: value ? value.text.replace(/\s+/g, '') : undefined });
        edge(current, caseNode); // fallthrough from the previous case
        let inner: CfgNode | null = caseNode;
        for (const child of statement.namedChildren) {
          if (child && child.id !== statement.childForFieldName('value')?.id) inner = lowerStatement(child, inner);
        }
        return inner;
      }
      case 'labeled_statement': {
        const label = labelNode(statement.childForFieldName('label')!.text);
        edge(current, label);
        let inner: CfgNode | null = label;
        for (const child of statement.namedChildren) {
          if (child && child.type !== 'statement_identifier') inner = lowerStatement(child, inner);
        }
        return inner;
      }
      case 'goto_statement': {
        const node = append(current, { kind: 'jump', node: statement }, ...scopeExitTo(0));
        if (node) edge(node, labelNode(statement.childForFieldName('label')!.text));
        return null;
      }
      case 'break_statement':
      case 'continue_statement': {
        const loop = loops[loops.length - 1];
        if (!loop) return null;
        const target = statement.type === 'break_statement' ? loop.breakTarget : loop.continueTarget;
        const node = append(current, { kind: 'jump', node: statement }, ...scopeExitTo(loop.scopeDepth));
        if (node && target >= 0) edge(node, nodes[target]!);
        return null;
      }
      case 'return_statement': {
        const node = append(current, ...expressionEvents(statement.namedChild(0)), { kind: 'return', node: statement });
        if (node) edge(node, exit);
        return null;
      }
      case 'comment':
      case ';':
        return current;
      default:
        // Other statements (asm, declarations without calls, preprocessor lines left in bodies…):
        // keep their calls in order.
        return append(current, ...expressionEvents(statement));
    }
  };

  const lowerScopedGuard = (statement: Node, macro: StatementMacro, current: CfgNode | null): CfgNode | null => {
    // `scoped_guard(class, &lock) body`: the lock is held for the body; `break` leaves the scope.
    const argumentsText = options.originalText.slice(macro.openParen + 1, macro.closeParen);
    const guardClass = argumentsText.split(',')[0]?.trim() ?? '';
    const condition = statement.childForFieldName('condition');
    const argNodes = collectCommaOperands(condition);
    const lockArg = macro.name === 'scoped_cond_guard' ? argNodes[2] ?? null : argNodes[1] ?? null;
    const after = newNode();
    let bodyStart = append(current);
    if (!bodyStart) return null;
    if (macro.name === 'scoped_cond_guard') {
      // The guard may fail (interrupted): then the body is skipped.
      const { whenTrue, whenFalse } = lowerCondition(condition!, bodyStart, false);
      edge(whenFalse, after);
      bodyStart = whenTrue!;
    }
    bodyStart = append(bodyStart, { kind: 'guard', guardClass, lockArg, scope: statement.id, node: statement, conditional: false });
    scopes.push(statement.id);
    loops.push({ breakTarget: after.id, continueTarget: after.id, scopeDepth: scopes.length - 1 });
    const bodyEnd = lowerStatement(statement.childForFieldName('body'), bodyStart);
    loops.pop();
    scopes.pop();
    edge(append(bodyEnd, { kind: 'scopeExit', scopes: [statement.id] }), after);
    return after;
  };

  const end = lowerStatement(functionBody, entry);
  // A fact only matters when it is used again: the same condition tested twice, or a variable that is
  // also set to a constant (`locked = true`) or returned (`return status;` tells a caller what happened).
  // Other conditions keep no fact, so they do not multiply the states of the lock analysis.
  const keyCounts = new Map<string, number>();
  const reused = new Set<string>();
  for (const node of nodes) {
    const key = node.branch?.correlationKey;
    if (key !== undefined) keyCounts.set(key, (keyCounts.get(key) ?? 0) + 1);
    for (const event of node.events) {
      if (event.kind === 'assign' && event.value && constantTruth(event.value.text) !== undefined) reused.add(event.variable);
      if (event.kind === 'return' && event.node.type === 'return_statement') {
        const value = event.node.namedChild(0);
        if (value?.type === 'identifier') reused.add(value.text);
      }
    }
  }
  for (const node of nodes) {
    const key = node.branch?.correlationKey;
    if (key !== undefined && keyCounts.get(key)! < 2 && !reused.has(key)) delete node.branch!.correlationKey;
  }
  // Falling off the end of the function is a return at the closing brace.
  if (end) {
    const closing = append(end, { kind: 'return', node: functionBody });
    if (closing) edge(closing, exit);
  }
  return { nodes, entry: entry.id, exit: exit.id };
}


/** The operands of `(a, b, c)` as nodes (a normalised iterator/guard macro's argument list). */
function collectCommaOperands(node: Node | null): Node[] {
  if (!node) return [];
  if (node.type === 'parenthesized_expression') return collectCommaOperands(node.namedChild(0));
  if (node.type === 'comma_expression') {
    return [...collectCommaOperands(node.childForFieldName('left')), ...collectCommaOperands(node.childForFieldName('right'))];
  }
  return [node];
}
