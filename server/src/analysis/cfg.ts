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

/** Lowers one function body into a CFG (see buildCfg). */
class CfgBuilder {
  readonly nodes: CfgNode[] = [];
  readonly entry: CfgNode;
  readonly exit: CfgNode;
  private readonly labels = new Map<string, CfgNode>();
  private readonly loops: LoopContext[] = [];
  /** Scopes (compound statements holding guards, scoped_guard bodies) currently open, innermost last. */
  private readonly scopes: number[] = [];
  /** The switch being lowered: its cases in order (value text; undefined for `default:`). */
  private switchContext: { cases: Array<{ node: CfgNode; value: string | undefined }> } | undefined;

  constructor(private readonly functionBody: Node, private readonly options: CfgOptions) {
    this.entry = this.newNode();
    this.exit = this.newNode();
  }

  build(): Cfg {
    const end = this.lowerStatement(this.functionBody, this.entry);
    keepReusedKeys(this.nodes);
    // Falling off the end of the function is a return at the closing brace.
    if (end) {
      const closing = this.append(end, { kind: 'return', node: this.functionBody });
      if (closing) this.edge(closing, this.exit);
    }
    return { nodes: this.nodes, entry: this.entry.id, exit: this.exit.id };
  }

  private newNode(): CfgNode {
    const node: CfgNode = { id: this.nodes.length, events: [], succ: [] };
    this.nodes.push(node);
    return node;
  }

  private edge(from: CfgNode | null, to: CfgNode) {
    if (from && !from.branch) from.succ.push(to.id);
  }

  private labelNode(name: string) {
    let node = this.labels.get(name);
    if (!node) {
      node = this.newNode();
      this.labels.set(name, node);
    }
    return node;
  }

  /** Appends events to `current`, or a fresh node when `current` ends in a branch. */
  private append(current: CfgNode | null, ...events: CfgEvent[]): CfgNode | null {
    if (!current) return null;
    let target = current;
    if (current.branch || current.succ.length > 0) {
      target = this.newNode();
      this.edge(current, target);
    }
    target.events.push(...events);
    return target;
  }

  private expressionEvents(expression: Node | null): CfgEvent[] {
    if (!expression) return [];
    const events: Array<{ at: number; event: CfgEvent }> = [];
    const calls = nodesWithin(this.options.index.calls, expression.startIndex, expression.endIndex);
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
          const scope = this.scopes[this.scopes.length - 1] ?? this.functionBody.id;
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
    const assignments = nodesWithin(this.options.index.assignments, expression.startIndex, expression.endIndex);
    for (const assignment of assignments) {
      if (!assignment) continue;
      const left = assignment.childForFieldName('left');
      if (left?.type === 'identifier') {
        events.push({ at: assignment.endIndex + 0.5, event: { kind: 'assign', variable: left.text, value: assignment.childForFieldName('right'), node: assignment } });
      }
    }
    for (const update of nodesWithin(this.options.index.updates, expression.startIndex, expression.endIndex)) {
      const argument = update?.childForFieldName('argument');
      if (update && argument?.type === 'identifier') events.push({ at: update.endIndex + 0.5, event: { kind: 'assign', variable: argument.text, value: null, node: update } });
    }
    events.sort((a, b) => a.at - b.at);
    return events.map((e) => e.event);
  }

  private unwrap(node: Node): Node {
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
  }

  /** Lowers a condition; returns the nodes reached when it is true and when it is false. */
  private lowerCondition(condition: Node, from: CfgNode | null, recordFacts: boolean, negative = false): { whenTrue: CfgNode | null; whenFalse: CfgNode | null } {
    if (!from) return { whenTrue: null, whenFalse: null };
    const expression = this.unwrap(condition);
    if (expression.type === 'binary_expression') {
      const operator = expression.childForFieldName('operator')?.type;
      const left = expression.childForFieldName('left');
      const right = expression.childForFieldName('right');
      if ((operator === '&&' || operator === '||') && left && right) {
        const first = this.lowerCondition(left, from, recordFacts);
        if (operator === '&&') {
          const second = this.lowerCondition(right, first.whenTrue, recordFacts);
          return { whenTrue: second.whenTrue, whenFalse: this.join(first.whenFalse, second.whenFalse) };
        }
        const second = this.lowerCondition(right, first.whenFalse, recordFacts);
        return { whenTrue: this.join(first.whenTrue, second.whenTrue), whenFalse: second.whenFalse };
      }
      if ((operator === '==' || operator === '!=' || operator === '<' || operator === '>=') && left && right && (isZero(right) || isZero(left))) {
        // `x == 0`, `x != NULL`, `ret < 0` (error codes are negative): a truth test of the other operand.
        const operand = isZero(right) ? left : right;
        const negate = operator === '==' || operator === '>=';
        const inner = this.lowerCondition(operand, from, recordFacts, (operator === '<' || operator === '>=') && isZero(right));
        return negate ? { whenTrue: inner.whenFalse, whenFalse: inner.whenTrue } : inner;
      }
    }
    if (expression.type === 'unary_expression' && expression.childForFieldName('operator')?.type === '!') {
      const inner = this.lowerCondition(expression.childForFieldName('argument')!, from, recordFacts);
      return { whenTrue: inner.whenFalse, whenFalse: inner.whenTrue };
    }
    let current = this.append(from, ...this.expressionEvents(expression));
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
      const next = this.newNode();
      this.edge(current, next);
      current = next;
    }
    current.branch = atom;
    const first = this.newNode();
    const second = this.newNode();
    current.succ.push(first.id, second.id);
    return swapped ? { whenTrue: second, whenFalse: first } : { whenTrue: first, whenFalse: second };
  }

  /**
   * A switch as the chain of tests it means (`x == A`, else `x == B`, …, else default): a second switch
   * on the same unchanged `x` then follows the case the first one took (hwspinlock takes the lock in one
   * `switch (mode)` and releases it in another).
   */
  private dispatchCases(head: CfgNode, condition: Node | null, cases: Array<{ node: CfgNode; value: string | undefined }>, after: CfgNode) {
    const subject = condition ? this.unwrap(condition).text.replace(/\s+/g, '') : '';
    const keyed = subject !== '' && PURE_EXPRESSION.test(subject) && !/\w\s*\(/.test(subject);
    let current = head;
    for (const { node, value } of cases) {
      if (value === undefined) continue;
      const test = this.newNode();
      this.edge(current, test);
      const equality = keyed && !value.includes('...') ? { subject, value } : undefined;
      test.branch = { node: condition!, negated: false, correlationKey: equality ? `${subject}==${value}` : undefined, equality };
      const otherwise = this.newNode();
      test.succ.push(node.id, otherwise.id);
      current = otherwise;
    }
    this.edge(current, cases.find((c) => c.value === undefined)?.node ?? after);
  }

  private join(...parts: Array<CfgNode | null>): CfgNode | null {
    const live = parts.filter((p): p is CfgNode => p !== null);
    if (live.length === 0) return null;
    if (live.length === 1) return live[0]!;
    const joined = this.newNode();
    for (const p of live) this.edge(p, joined);
    return joined;
  }

  private scopeExitTo(depth: number): CfgEvent[] {
    return (this.scopes.length > depth ? [{ kind: 'scopeExit', scopes: this.scopes.slice(depth) }] : []);
  }

  private lowerStatement(statement: Node | null, current: CfgNode | null): CfgNode | null {
    if (!statement) return current;
    switch (statement.type) {
      case 'compound_statement':
        return this.lowerCompound(statement, current);
      case 'expression_statement':
        return this.lowerExpressionStatement(statement, current);
      case 'declaration':
        return this.lowerDeclaration(statement, current);
      case 'if_statement':
        return this.lowerIf(statement, current);
      case 'while_statement':
        return this.lowerWhile(statement, current);
      case 'do_statement':
        return this.lowerDo(statement, current);
      case 'for_statement':
        return this.lowerFor(statement, current);
      case 'switch_statement':
        return this.lowerSwitch(statement, current);
      case 'case_statement':
        return this.lowerCase(statement, current);
      case 'labeled_statement':
        return this.lowerLabeled(statement, current);
      case 'goto_statement':
        return this.lowerGoto(statement, current);
      case 'break_statement':
      case 'continue_statement':
        return this.lowerJump(statement, current);
      case 'return_statement':
        return this.lowerReturn(statement, current);
      case 'comment':
      case ';':
        return current;
      default:
        // Other statements (asm, declarations without calls, preprocessor lines left in bodies…):
        // keep their calls in order.
        return this.append(current, ...this.expressionEvents(statement));
    }
  }

  /** A block: its statements in order; a guard() in it holds until the block ends. */
  private lowerCompound(statement: Node, current: CfgNode | null): CfgNode | null {
    const hasGuard = statement.namedChildren.some((child) => child?.type === 'expression_statement' && /^\s*guard\s*\(/.test(child.text));
    if (hasGuard) this.scopes.push(statement.id);
    for (const child of statement.namedChildren) current = this.lowerStatement(child, current);
    if (hasGuard) {
      this.scopes.pop();
      current = this.append(current, { kind: 'scopeExit', scopes: [statement.id] });
    }
    return current;
  }

  /** An expression statement: its calls and assignments; a call that never returns ends the path. */
  private lowerExpressionStatement(statement: Node, current: CfgNode | null): CfgNode | null {
    const events = this.expressionEvents(statement.namedChild(0));
    const after = this.append(current, ...events);
    // `panic(…);` ends the path: nothing after it runs, and it is not a return either.
    return events.some((e) => e.kind === 'call' && e.callee !== undefined && noReturn.has(e.callee)) ? null : after;
  }

  /** Declarations: initialisers, and each declared local gets its first value. */
  private lowerDeclaration(statement: Node, current: CfgNode | null): CfgNode | null {
    const events: CfgEvent[] = [];
    for (const declarator of statement.childrenForFieldName('declarator')) {
      if (declarator?.type !== 'init_declarator') continue;
      const value = declarator.childForFieldName('value');
      events.push(...this.expressionEvents(value));
      // `struct intel_dp *intel_dp = …;` declares `intel_dp` too: a fresh object on every pass.
      let name = declarator.childForFieldName('declarator');
      while (name?.type === 'pointer_declarator') name = name.childForFieldName('declarator');
      if (name?.type === 'identifier') events.push({ kind: 'assign', variable: name.text, value, node: declarator });
    }
    return this.append(current, ...events);
  }

  /** `if`/`else`: the condition branches, the arms join. */
  private lowerIf(statement: Node, current: CfgNode | null): CfgNode | null {
    const { whenTrue, whenFalse } = this.lowerCondition(statement.childForFieldName('condition')!, current, true);
    const afterThen = this.lowerStatement(statement.childForFieldName('consequence'), whenTrue);
    const alternative = statement.childForFieldName('alternative');
    const afterElse = alternative ? this.lowerStatement(alternative.type === 'else_clause' ? alternative.namedChild(0) : alternative, whenFalse) : whenFalse;
    return this.join(afterThen, afterElse);
  }

  /** `while` (iterator macros and `scoped_guard` are normalised to it). */
  private lowerWhile(statement: Node, current: CfgNode | null): CfgNode | null {
    const macro = this.options.statementMacros.get(statement.startIndex);
    if (macro && (macro.name === 'scoped_guard' || macro.name === 'scoped_cond_guard')) return this.lowerScopedGuard(statement, macro, current);
    const head = this.newNode();
    this.edge(current ? this.append(current) : null, head);
    if (!current) return null;
    const after = this.newNode();
    if (macro) {
      // An iterator macro advances its cursor (`pos`, `entry`, `i`) behind the scenes on every round.
      for (const operand of collectCommaOperands(statement.childForFieldName('condition'))) {
        if (operand.type === 'identifier') head.events.push({ kind: 'assign', variable: operand.text, value: null, node: operand, within: [statement.startIndex, statement.endIndex] });
      }
    }
    const { whenTrue, whenFalse } = this.lowerCondition(statement.childForFieldName('condition')!, head, false);
    this.loops.push({ breakTarget: after.id, continueTarget: head.id, scopeDepth: this.scopes.length });
    const bodyEnd = this.lowerStatement(statement.childForFieldName('body'), whenTrue);
    this.loops.pop();
    this.edge(bodyEnd, head);
    this.edge(whenFalse, after);
    return after;
  }

  /** `do … while`: the body runs once before the test. */
  private lowerDo(statement: Node, current: CfgNode | null): CfgNode | null {
    if (!current) return null;
    const bodyStart = this.newNode();
    this.edge(this.append(current), bodyStart);
    const conditionNode = this.newNode();
    const after = this.newNode();
    this.loops.push({ breakTarget: after.id, continueTarget: conditionNode.id, scopeDepth: this.scopes.length });
    const bodyEnd = this.lowerStatement(statement.childForFieldName('body'), bodyStart);
    this.loops.pop();
    this.edge(bodyEnd, conditionNode);
    const { whenTrue, whenFalse } = this.lowerCondition(statement.childForFieldName('condition')!, conditionNode, false);
    this.edge(whenTrue, bodyStart);
    this.edge(whenFalse, after);
    return after;
  }

  /** `for`: initialiser, test at the head, update before the next round. */
  private lowerFor(statement: Node, current: CfgNode | null): CfgNode | null {
    const initializer = statement.childForFieldName('initializer');
    current = initializer?.type === 'declaration' ? this.lowerStatement(initializer, current) : this.append(current, ...this.expressionEvents(initializer));
    if (!current) return null;
    const head = this.newNode();
    this.edge(this.append(current), head);
    const after = this.newNode();
    const updateNode = this.newNode();
    const condition = statement.childForFieldName('condition');
    let whenTrue: CfgNode | null = head;
    let whenFalse: CfgNode | null = null;
    if (condition) ({ whenTrue, whenFalse } = this.lowerCondition(condition, head, false));
    this.loops.push({ breakTarget: after.id, continueTarget: updateNode.id, scopeDepth: this.scopes.length });
    const bodyEnd = this.lowerStatement(statement.childForFieldName('body'), whenTrue);
    this.loops.pop();
    this.edge(bodyEnd, updateNode);
    updateNode.events.push(...this.expressionEvents(statement.childForFieldName('update')));
    this.edge(updateNode, head);
    this.edge(whenFalse, after);
    return after;
  }

  /** `switch`: its cases, collected while lowering the body, dispatched by a chain of tests. */
  private lowerSwitch(statement: Node, current: CfgNode | null): CfgNode | null {
    const head = this.append(current, ...this.expressionEvents(statement.childForFieldName('condition')));
    if (!head) return null;
    const switchHead = this.newNode();
    this.edge(head, switchHead);
    const after = this.newNode();
    const outer = this.switchContext;
    const context: NonNullable<typeof this.switchContext> = { cases: [] };
    this.switchContext = context;
    this.loops.push({ breakTarget: after.id, continueTarget: this.loops[this.loops.length - 1]?.continueTarget ?? -1, scopeDepth: this.scopes.length });
    const bodyEnd = this.lowerStatement(statement.childForFieldName('body'), null);
    this.loops.pop();
    this.switchContext = outer;
    this.dispatchCases(switchHead, statement.childForFieldName('condition'), context.cases, after);
    this.edge(bodyEnd, after);
    return after;
  }

  /** A `case`/`default`: entered by the dispatch, or by falling through from the case before. */
  private lowerCase(statement: Node, current: CfgNode | null): CfgNode | null {
    const caseNode = this.newNode();
    const value = statement.childForFieldName('value');
    this.switchContext?.cases.push({ node: caseNode, value: value ? value.text.replace(/\s+/g, '') : undefined });
    this.edge(current, caseNode); // fallthrough from the previous case
    let inner: CfgNode | null = caseNode;
    for (const child of statement.namedChildren) {
      if (child && child.id !== statement.childForFieldName('value')?.id) inner = this.lowerStatement(child, inner);
    }
    return inner;
  }

  /** A label: entered in order, or by a `goto`. */
  private lowerLabeled(statement: Node, current: CfgNode | null): CfgNode | null {
    const label = this.labelNode(statement.childForFieldName('label')!.text);
    this.edge(current, label);
    let inner: CfgNode | null = label;
    for (const child of statement.namedChildren) {
      if (child && child.type !== 'statement_identifier') inner = this.lowerStatement(child, inner);
    }
    return inner;
  }

  /** `goto`: leaves its scopes and jumps to the label. */
  private lowerGoto(statement: Node, current: CfgNode | null): CfgNode | null {
    const node = this.append(current, { kind: 'jump', node: statement }, ...this.scopeExitTo(0));
    if (node) this.edge(node, this.labelNode(statement.childForFieldName('label')!.text));
    return null;
  }

  /** `break`/`continue`: to the innermost loop or switch. */
  private lowerJump(statement: Node, current: CfgNode | null): CfgNode | null {
    const loop = this.loops[this.loops.length - 1];
    if (!loop) return null;
    const target = statement.type === 'break_statement' ? loop.breakTarget : loop.continueTarget;
    const node = this.append(current, { kind: 'jump', node: statement }, ...this.scopeExitTo(loop.scopeDepth));
    if (node && target >= 0) this.edge(node, this.nodes[target]!);
    return null;
  }

  /** `return`: its value is evaluated, then the path ends at the exit. */
  private lowerReturn(statement: Node, current: CfgNode | null): CfgNode | null {
    const node = this.append(current, ...this.expressionEvents(statement.namedChild(0)), { kind: 'return', node: statement });
    if (node) this.edge(node, this.exit);
    return null;
  }

  private lowerScopedGuard(statement: Node, macro: StatementMacro, current: CfgNode | null): CfgNode | null {
    // `scoped_guard(class, &lock) body`: the lock is held for the body; `break` leaves the scope.
    const argumentsText = this.options.originalText.slice(macro.openParen + 1, macro.closeParen);
    const guardClass = argumentsText.split(',')[0]?.trim() ?? '';
    const condition = statement.childForFieldName('condition');
    const argNodes = collectCommaOperands(condition);
    const lockArg = macro.name === 'scoped_cond_guard' ? argNodes[2] ?? null : argNodes[1] ?? null;
    const after = this.newNode();
    let bodyStart = this.append(current);
    if (!bodyStart) return null;
    if (macro.name === 'scoped_cond_guard') {
      // The guard may fail (interrupted): then the body is skipped.
      const { whenTrue, whenFalse } = this.lowerCondition(condition!, bodyStart, false);
      this.edge(whenFalse, after);
      bodyStart = whenTrue!;
    }
    bodyStart = this.append(bodyStart, { kind: 'guard', guardClass, lockArg, scope: statement.id, node: statement, conditional: false });
    this.scopes.push(statement.id);
    this.loops.push({ breakTarget: after.id, continueTarget: after.id, scopeDepth: this.scopes.length - 1 });
    const bodyEnd = this.lowerStatement(statement.childForFieldName('body'), bodyStart);
    this.loops.pop();
    this.scopes.pop();
    this.edge(this.append(bodyEnd, { kind: 'scopeExit', scopes: [statement.id] }), after);
    return after;
  }
}

export function buildCfg(functionBody: Node, options: CfgOptions): Cfg {
  return new CfgBuilder(functionBody, options).build();
}

/** `0`, `NULL`, `false` as written: the operand a comparison with zero tests the truth of. */
export function isZero(node: Node | null): boolean {
  return !!node && /^(0|NULL|false)$/.test(node.text.trim());
}

/**
 * A fact only matters when it is used again: the same condition tested twice, or a variable that is
 * also set to a constant (`locked = true`) or returned (`return status;` tells a caller what happened).
 * Other conditions keep no fact, so they do not multiply the states of the lock analysis.
 */
function keepReusedKeys(nodes: readonly CfgNode[]): void {
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
