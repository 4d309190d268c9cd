// Execution context from registrations: a function passed to request_irq() runs in hard IRQ context,
// one stored in `.hook` of a struct nf_hook_ops runs in softirq context, a work item in process context.
// Which registration gives which context is data (kernel-api/callbacks.ts); registrations are found in
// the text (calls, designated initialisers, field assignments), so odd parses do not hide them.
import { CALLBACK_FIELDS, CALLBACK_REGISTRATIONS, type CallbackField, type CallbackRegistration, type ContextDescription, type ExecutionContext } from '../kernel-api/callbacks';
import { CallSite, type FunctionAnalysis } from './functionAnalysis';
import { rangeAt, type ParsedFile, type Range } from './model';

export interface Registration {
  /** The registered function's name. */
  target: string;
  context: ExecutionContext;
  role: string;
  /** What registered it: the call (`request_irq`) or the field (`.hook`). */
  via: string;
  file: string;
  range: Range;
  /** See ContextDescription: the module-wide condition that makes it process context. */
  processContextIfModuleUses?: string;
  /** See ContextDescription: the partner callback that releases what this one returns holding. */
  handsLocksTo?: string;
}

const registrationsByFunction = new Map<string, CallbackRegistration[]>();
for (const registration of CALLBACK_REGISTRATIONS) {
  const list = registrationsByFunction.get(registration.function) ?? [];
  list.push(registration);
  registrationsByFunction.set(registration.function, list);
}
const fieldsByName = new Map<string, CallbackField[]>();
for (const row of CALLBACK_FIELDS) fieldsByName.set(row.field, [...(fieldsByName.get(row.field) ?? []), row]);
const FIELD_ASSIGNMENT = fieldsByName.size
  ? new RegExp(`(\\.|->)\\s*(${[...fieldsByName.keys()].join('|')})\\s*=\\s*(?:\\([^()]*\\)\\s*)?&?\\s*([A-Za-z_]\\w*)\\s*([,;}\\n])`, 'g')
  : undefined;

/** `fn`, `&fn`, `(irq_handler_t)fn` → `fn`. */
export function functionNameIn(text: string): string | undefined {
  return /^(?:\([^()]*\)\s*)?&?\s*\(?\s*([A-Za-z_]\w*)\s*\)?$/.exec(text.trim())?.[1];
}

/** Per file analysis: the editor re-lints a module on every keystroke, and only one of its files changed. */
const registrationsOf = new WeakMap<readonly FunctionAnalysis[], Registration[]>();

/** The registrations in a file (fresh objects: the call graph adjusts their context). */
export function findRegistrations(file: ParsedFile, functions: readonly FunctionAnalysis[]): Registration[] {
  let registrations = registrationsOf.get(functions);
  if (!registrations) registrationsOf.set(functions, (registrations = registrationsIn(file, functions)));
  return registrations.map((registration) => ({ ...registration }));
}

function registrationsIn(file: ParsedFile, functions: readonly FunctionAnalysis[]): Registration[] {
  const registrations: Registration[] = [];
  const text = file.normalized.text;
  const add = (target: string | undefined, row: ContextDescription, via: string, start: number, end: number) => {
    if (target) registrations.push({ target, context: row.context, role: row.role, via, file: file.path, range: rangeAt(file, start, end), processContextIfModuleUses: row.processContextIfModuleUses, handsLocksTo: row.handsLocksTo });
  };
  const inFunctions = new Set<number>();
  for (const fn of functions) {
    for (const call of fn.calls) {
      inFunctions.add(call.start);
      for (const row of (call.callee && registrationsByFunction.get(call.callee)) || []) {
        add(functionNameIn(call.args[row.callbackArg]?.text ?? ''), row, row.function, call.start, call.end);
      }
    }
  }
  // File-scope registrations: `module_init(fn)`, `static DECLARE_TASKLET(t, fn);`.
  for (const lexical of file.normalized.calls) {
    const rows = lexical.name ? registrationsByFunction.get(lexical.name) : undefined;
    if (!rows || inFunctions.has(lexical.start)) continue;
    const call = new CallSite(text, lexical.name, lexical.start, lexical.open);
    for (const row of rows) add(functionNameIn(call.args[row.callbackArg]?.text ?? ''), row, row.function, call.start, call.end);
  }
  if (!FIELD_ASSIGNMENT) return registrations;
  // `.hook = fn,` in initialisers and `t->function = fn;` assignments.
  const types = new Map<string, string | undefined>();
  for (const match of text.matchAll(FIELD_ASSIGNMENT)) {
    const row = fieldRow(text, match.index, match[1]!, fieldsByName.get(match[2]!)!, types);
    if (row) add(match[3], row, `.${row.field}`, match.index, match.index + match[0].length - 1);
  }
  return registrations;
}

/**
 * The row a field store names: the one of the struct type when that type is visible (the initialiser's
 * declaration, or the declared type of the variable or member the field belongs to), else the row of a
 * field name no other kernel struct has (`uniqueField`).
 */
function fieldRow(text: string, offset: number, operator: string, rows: readonly CallbackField[], types: Map<string, string | undefined>): CallbackField | undefined {
  const struct = storeStruct(text, offset, operator, types);
  return struct ? rows.find((r) => r.struct === struct) : rows.find((r) => r.uniqueField);
}

/** The one struct type `name` is declared with in the file (`struct led_classdev cdev;`, `struct urb *u`), if unambiguous. */
function declaredStruct(text: string, name: string): string | undefined {
  const declaration = new RegExp(`\\bstruct\\s+([A-Za-z_]\\w*)(?:\\s+|\\s*\\*[\\s*]*)(?:const\\s+)?${name}\\s*(?:\\[[^\\]]*\\]\\s*)*[;,)=]`, 'g');
  const found = new Set([...text.matchAll(declaration)].map((m) => m[1]!));
  return found.size === 1 ? [...found][0] : undefined;
}

/** The struct type of the declaration whose initialiser surrounds `offset`. */
function initializerStruct(text: string, offset: number): string | undefined {
  const before = text.slice(Math.max(0, offset - 4000), offset);
  return [...before.matchAll(/\bstruct\s+([A-Za-z_]\w*)\s+[A-Za-z_]\w*\s*(?:\[[^\]]*\])?\s*=\s*\{/g)].pop()?.[1];
}

export function isAtomicContext(context: ExecutionContext): boolean {
  return context !== 'process';
}

/** A module function stored in a struct's function pointer field: `static const struct foo_ops x = { .bar = fn }`. */
export interface OpsEntry {
  /** The struct type, when visible (the initialiser's declaration, or the declared type of the stored-to object). */
  struct?: string;
  field: string;
  target: string;
}

const FIELD_STORE = /(\.|->)\s*([A-Za-z_]\w*)\s*=\s*(?:\([^()]*\)\s*)?&?\s*([A-Za-z_]\w*)\s*(?=[,;}\n])/g;
const opsEntriesOf = new WeakMap<ParsedFile, OpsEntry[]>();

/**
 * Every store of an identifier into a field of the file (`.bar = my_bar,`, `ops->bar = my_bar;`), with the
 * struct type where it is visible. The call graph keeps those whose target is a module function: a call
 * through `….bar(…)` may reach them.
 */
export function opsEntries(file: ParsedFile): OpsEntry[] {
  let entries = opsEntriesOf.get(file);
  if (entries) return entries;
  entries = [];
  const text = file.normalized.text;
  const types = new Map<string, string | undefined>();
  for (const match of text.matchAll(FIELD_STORE)) {
    entries.push({ struct: storeStruct(text, match.index, match[1]!, types), field: match[2]!, target: match[3]! });
  }
  opsEntriesOf.set(file, entries);
  return entries;
}

/** The struct type of the object whose field is stored at `offset` (see fieldRow). */
function storeStruct(text: string, offset: number, operator: string, types: Map<string, string | undefined>): string | undefined {
  const before = text.slice(Math.max(0, offset - 200), offset);
  const base = /([A-Za-z_]\w*)\s*(?:\[[^\]]*\]\s*)*\)?\s*$/.exec(before);
  const isMember = operator === '->' || (base !== null && /[\w\])]\s*$/.test(before));
  if (!isMember) return initializerStruct(text, offset);
  if (!base) return undefined;
  return typeOf(text, base[1]!, types);
}

function typeOf(text: string, name: string, types: Map<string, string | undefined>): string | undefined {
  if (!types.has(name)) types.set(name, declaredStruct(text, name));
  return types.get(name);
}

/**
 * For a call through a field (`priv->ops->bar(…)`, whose call site starts at `bar`): the field, and the
 * struct type of the object holding it when visible (the declared type of `ops`).
 */
export function calledField(file: ParsedFile, start: number, open: number, types: Map<string, string | undefined>): { field: string; struct?: string } | undefined {
  const text = file.normalized.text;
  const field = /^\s*([A-Za-z_]\w*)\s*\)?\s*$/.exec(text.slice(start, open))?.[1];
  if (!field) return undefined;
  const before = text.slice(Math.max(0, start - 200), start);
  if (!/(?:->|\.)\s*$/.test(before)) return undefined;
  const base = /([A-Za-z_]\w*)\s*(?:\[[^\]]*\]\s*)*\)?\s*(?:->|\.)\s*$/.exec(before);
  return { field, struct: base ? typeOf(text, base[1]!, types) : undefined };
}
