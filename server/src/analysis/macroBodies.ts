// What a function-like macro does with its arguments, read from its `#define` body rather than from a
// list of macro names:
//  - a parameter that the body only pastes (`name##_show`), stringifies (`#name`), uses as a member
//    (`(ops)->op`, `offsetof(T, op)`) or passes on to such parameters of other macros is not a use of a
//    symbol of that name (`static DEVICE_ATTR_RO(frozen)`, `SET_VALID_IOCTL(ops, cmd, vidioc_querycap)`);
//  - a body that holds a function definition whose name is made from a parameter
//    (`const char *fnname(int val) { … }`, `static ssize_t name##_show(…) { … }`) defines that name
//    (`DRM_ENUM_NAME_FN(drm_get_dpms_name, …)` defines `drm_get_dpms_name`).

export interface DefinedName {
  param: number;
  prefix: string;
  suffix: string;
}

export interface MacroSummary {
  /** Parameters never used as a value in the body itself. */
  notValues: number[];
  /** Parameters passed whole as an argument of another macro or function: param, callee, argument index. */
  passes: Array<[number, string, number]>;
  /** Function definitions whose name the body makes from a parameter. */
  defines: DefinedName[];
}

/** Callees whose argument at this index is a member name, not a value. */
const MEMBER_ARGUMENTS: Readonly<Record<string, number>> = { __builtin_offsetof: 1 };
const EXPORT_MACRO = /^_*EXPORT_SYMBOL/;
const KEYWORDS = new Set(['if', 'while', 'for', 'switch', 'return', 'sizeof', 'typeof', '__typeof__', 'do', 'else']);

const TOKEN = /##|#|->|[A-Za-z_]\w*|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\d[\w.]*|\S/g;

/** Summarises one function-like macro from its parameter list (as written) and body. */
export function summarizeMacro(parameterList: string, body: string): MacroSummary {
  const params = parameterList.split(',').map((p) => p.trim()).map((p) => (p === '...' ? '__VA_ARGS__' : p.replace(/\.\.\.$/, '')));
  const tokens = body.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, ' ').replace(/\\\r?\n/g, ' ').match(TOKEN) ?? [];
  const valueUse = params.map(() => false);
  const passes: MacroSummary['passes'] = [];
  const defines: DefinedName[] = [];
  // The open calls around each token: callee and argument index (a callee of '' is a plain parenthesis).
  const calls: Array<{ callee: string; index: number; start: number }> = [];
  for (let k = 0; k < tokens.length; k++) {
    const token = tokens[k]!;
    if (token === '(') { calls.push({ callee: isIdent(tokens[k - 1]) && !KEYWORDS.has(tokens[k - 1]!) ? tokens[k - 1]! : '', index: 0, start: k + 1 }); continue; }
    if (token === ')') { calls.pop(); continue; }
    if (token === ',') { const top = calls[calls.length - 1]; if (top) { top.index++; top.start = k + 1; } continue; }
    const param = params.indexOf(token);
    if (param < 0) continue;
    const before = tokens[k - 1];
    const after = tokens[k + 1];
    if (before === '##' || after === '##') {
      const defined = definedNameAt(tokens, k, params);
      if (defined) defines.push(defined);
      continue;
    }
    if (before === '#' || before === '.' || before === '->') continue;
    const call = calls[calls.length - 1];
    const whole = call && call.callee !== '' && call.start === k && (after === ',' || after === ')');
    if (whole && MEMBER_ARGUMENTS[call.callee] === call.index) continue;
    if (whole) { passes.push([param, call.callee, call.index]); continue; }
    if (after === '(' && isFunctionHead(tokens, k)) {
      defines.push({ param, prefix: '', suffix: '' });
      continue;
    }
    valueUse[param] = true;
  }
  return { notValues: params.map((_, index) => index).filter((index) => !valueUse[index]), passes, defines };
}

function isIdent(token: string | undefined): boolean {
  return token !== undefined && /^[A-Za-z_]/.test(token);
}

/** `type name(…) {`: the name at `k` follows a type (a word or `*`) and its parameter list is followed by `{`. */
function isFunctionHead(tokens: string[], k: number): boolean {
  const before = tokens[k - 1];
  if (!(before === '*' || (isIdent(before) && !KEYWORDS.has(before!)))) return false;
  let depth = 0;
  for (let j = k + 1; j < tokens.length; j++) {
    if (tokens[j] === '(') depth++;
    else if (tokens[j] === ')' && --depth === 0) return tokens[j + 1] === '{';
  }
  return false;
}

/** A pasted name (`prefix##param##suffix`) that heads a function definition. */
function definedNameAt(tokens: string[], k: number, params: string[]): DefinedName | undefined {
  let first = k;
  while (tokens[first - 1] === '##' && isIdent(tokens[first - 2])) first -= 2;
  let last = k;
  while (tokens[last + 1] === '##' && isIdent(tokens[last + 2])) last += 2;
  if (tokens[last + 1] !== '(' || !isFunctionHead([...tokens.slice(0, first), 'name', ...tokens.slice(last + 1)], first)) return undefined;
  const parts = tokens.slice(first, last + 1).filter((token) => token !== '##');
  const at = parts.indexOf(tokens[k]!);
  if (parts.some((part, index) => index !== at && params.includes(part))) return undefined;
  return { param: params.indexOf(tokens[k]!), prefix: parts.slice(0, at).join(''), suffix: parts.slice(at + 1).join('') };
}

/**
 * Whether argument `index` of macro `name` is never used as a value, following it through the macros
 * it is passed to (`summaryOf` gives a macro's summary; a callee without one is a function: a value).
 */
export function isNotValueArgument(name: string, index: number, summaryOf: (name: string) => MacroSummary | undefined, depth = 0): boolean {
  // What an export macro is given is the module's own symbol to export, never a use of the kernel's.
  if (EXPORT_MACRO.test(name)) return true;
  const summary = summaryOf(name);
  if (!summary || depth > 6 || !summary.notValues.includes(index)) return false;
  return summary.passes.every(([param, callee, at]) => param !== index || isNotValueArgument(callee, at, summaryOf, depth + 1));
}

// ---- invocations in a file's (normalised) text ---------------------------------------------------

/**
 * The macro (or function) invocation whose argument the identifier at [start, end) is, whole (`M(a, x)`
 * for x: M and index 1); undefined when the identifier is part of a bigger argument or not in one.
 */
export function enclosingInvocation(text: string, start: number, end: number): { callee: string; index: number } | undefined {
  const before = previousSignificant(text, start - 1);
  const after = nextSignificant(text, end);
  if ((text[before] !== '(' && text[before] !== ',') || (text[after] !== ',' && text[after] !== ')')) return undefined;
  let index = 0;
  let depth = 0;
  const limit = Math.max(0, start - 4096);
  for (let k = before; k >= limit; k--) {
    const c = text[k];
    if (c === ')' || c === ']' || c === '}') depth++;
    else if (c === '(' || c === '[' || c === '{') {
      if (depth > 0) { depth--; continue; }
      if (c !== '(') return undefined;
      const nameEnd = previousSignificant(text, k - 1) + 1;
      let nameStart = nameEnd;
      while (nameStart > 0 && /\w/.test(text[nameStart - 1]!)) nameStart--;
      return nameStart < nameEnd && /^[A-Za-z_]/.test(text[nameStart]!) ? { callee: text.slice(nameStart, nameEnd), index } : undefined;
    } else if (c === ',' && depth === 0) index++;
    else if (c === ';' && depth === 0) return undefined;
  }
  return undefined;
}

/** The whole arguments of the invocation whose `(` follows the identifier ending at `nameEnd`, trimmed. */
export function invocationArguments(text: string, nameEnd: number): string[] | undefined {
  const open = nextSignificant(text, nameEnd);
  if (text[open] !== '(') return undefined;
  const args: string[] = [];
  let depth = 0;
  let argStart = open + 1;
  for (let k = open + 1; k < Math.min(text.length, open + 8192); k++) {
    const c = text[k];
    if (c === '(' || c === '[' || c === '{') depth++;
    else if ((c === ')' || c === ']' || c === '}') && depth > 0) depth--;
    else if (c === ',' && depth === 0) { args.push(text.slice(argStart, k).trim()); argStart = k + 1; }
    else if (c === ')') { args.push(text.slice(argStart, k).trim()); return args; }
  }
  return undefined;
}

/** The summary of a function-like `#define name(…)` in a file's text, if it has one. */
export function macroDefinedIn(text: string, name: string): MacroSummary | undefined {
  const match = new RegExp(String.raw`^[ \t]*#[ \t]*define[ \t]+${name}\(([^)]*)\)((?:[^\n\\]|\\[\s\S])*)`, 'm').exec(text);
  return match ? summarizeMacro(match[1]!, match[2]!) : undefined;
}

/** The names the invocation `macro(args)` defines, by the macro's summary. */
export function namesDefinedBy(summary: MacroSummary, args: readonly string[]): string[] {
  return summary.defines.flatMap(({ param, prefix, suffix }) => {
    const arg = args[param];
    return arg !== undefined && /^[A-Za-z_]\w*$/.test(arg) ? [`${prefix}${arg}${suffix}`] : [];
  });
}

function previousSignificant(text: string, from: number): number {
  let k = from;
  while (k >= 0 && /\s/.test(text[k]!)) k--;
  return k;
}

function nextSignificant(text: string, from: number): number {
  let k = from;
  while (k < text.length && /\s/.test(text[k]!)) k++;
  return k;
}
