// Execution context from registrations: a function passed to request_irq() runs in hard IRQ context,
// one stored in `.hook` of a struct nf_hook_ops runs in softirq context, a work item in process context.
// Which registration gives which context is data (kernel-api/callbacks.ts).
import type { Node } from 'web-tree-sitter';
import { CALLBACK_FIELDS, CALLBACK_REGISTRATIONS, type CallbackRegistration, type ExecutionContext } from '../kernel-api/callbacks';
import type { FunctionAnalysis } from './functionAnalysis';
import type { ParsedFile } from './model';

export interface Registration {
  /** The registered function's name. */
  target: string;
  context: ExecutionContext;
  role: string;
  /** What registered it: the call (`request_irq`) or the field (`.hook`). */
  via: string;
  file: string;
  node: Node;
}

const registrationsByFunction = new Map<string, CallbackRegistration[]>();
for (const registration of CALLBACK_REGISTRATIONS) {
  const list = registrationsByFunction.get(registration.function) ?? [];
  list.push(registration);
  registrationsByFunction.set(registration.function, list);
}
const fieldsByName = new Map(CALLBACK_FIELDS.map((f) => [f.field, f] as const));

/** `fn`, `&fn`, `(irq_handler_t)fn` → `fn`. */
function functionNameOf(node: Node | undefined | null): string | undefined {
  let current = node;
  while (current) {
    if (current.type === 'identifier') return current.text;
    if (current.type === 'pointer_expression' || current.type === 'parenthesized_expression') current = current.namedChild(current.namedChildCount - 1);
    else if (current.type === 'cast_expression') current = current.childForFieldName('value');
    else return undefined;
  }
  return undefined;
}

export function findRegistrations(file: ParsedFile, functions: readonly FunctionAnalysis[]): Registration[] {
  const registrations: Registration[] = [];
  for (const fn of functions) {
    for (const call of fn.calls) {
      const rows = call.callee ? registrationsByFunction.get(call.callee) : undefined;
      if (!rows) continue;
      for (const row of rows) {
        const target = functionNameOf(call.args[row.callbackArg]);
        if (target) registrations.push({ target, context: row.context, role: row.role, via: row.function, file: file.path, node: call.node });
      }
    }
  }
  const root = file.tree.rootNode;
  // File-scope registrations (`module_init(fn)`, `static DECLARE_TASKLET(t, fn);`) often parse as odd
  // declarations: read them from the text.
  const text = file.normalized.text;
  const insideFunction = (offset: number) => functions.some((f) => offset >= f.node.startIndex && offset < f.node.endIndex);
  for (const match of text.matchAll(FILE_SCOPE_CALL)) {
    const rows = registrationsByFunction.get(match[1]!);
    if (!rows || insideFunction(match.index)) continue;
    const args = splitArguments(text, match.index + match[0].length);
    const node = root.descendantForIndex(match.index) ?? root;
    for (const row of rows) {
      const target = /^&?\s*([A-Za-z_]\w*)$/.exec(args[row.callbackArg]?.trim() ?? '')?.[1];
      if (target) registrations.push({ target, context: row.context, role: row.role, via: row.function, file: file.path, node });
    }
  }
  if (fieldsByName.size === 0) return registrations;
  // `.hook = fn` in initialisers of the right struct type.
  for (const pair of root.descendantsOfType('initializer_pair')) {
    if (!pair) continue;
    const designator = pair.childForFieldName('designator');
    const field = designator?.type === 'field_designator' ? designator.text.replace(/^\./, '').trim() : undefined;
    const row = field ? fieldsByName.get(field) : undefined;
    if (!row) continue;
    if (row.struct && !enclosingDeclarationType(pair).includes(row.struct)) continue;
    const target = functionNameOf(pair.childForFieldName('value'));
    if (target) registrations.push({ target, context: row.context, role: row.role, via: `.${row.field}`, file: file.path, node: pair });
  }
  // `t->function = fn` assignments.
  for (const assignment of root.descendantsOfType('assignment_expression')) {
    const left = assignment?.childForFieldName('left');
    if (!assignment || left?.type !== 'field_expression') continue;
    const row = fieldsByName.get(left.childForFieldName('field')?.text ?? '');
    if (!row || row.struct) continue;
    const target = functionNameOf(assignment.childForFieldName('right'));
    if (target) registrations.push({ target, context: row.context, role: row.role, via: `.${row.field}`, file: file.path, node: assignment });
  }
  return registrations;
}

const FILE_SCOPE_CALL = new RegExp(`^[ \\t]*(?:static\\s+)?(${[...registrationsByFunction.keys()].join('|')})\\s*\\(`, 'gm');

/** Top-level comma-separated arguments of a macro call whose `(` ends just before `from`. */
function splitArguments(text: string, from: number): string[] {
  const args: string[] = [];
  let depth = 0;
  let start = from;
  for (let i = from; i < text.length && i < from + 2000; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') {
      if (depth === 0) { args.push(text.slice(start, i)); return args; }
      depth--;
    } else if (c === ',' && depth === 0) { args.push(text.slice(start, i)); start = i + 1; }
  }
  return args;
}

function enclosingDeclarationType(node: Node): string {
  let current: Node | null = node.parent;
  while (current && current.type !== 'declaration' && current.type !== 'translation_unit') current = current.parent;
  return current?.type === 'declaration' ? current.childForFieldName('type')?.text ?? '' : '';
}

export function isAtomicContext(context: ExecutionContext): boolean {
  return context !== 'process';
}
