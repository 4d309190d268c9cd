// Evaluates `#if` conditions as far as the target kernel is known: LINUX_VERSION_CODE/KERNEL_VERSION
// from its version.h, CONFIG_* from its .config, `defined()` of macros the file itself defines, and of
// names the compilation defines for sure (-D flags, compiler predefines) or defines nowhere (no header
// of the kdir or the module, no Kbuild flag: see analysis/macroScope.ts).
// Three-valued: a condition that depends on anything else is `undefined` (unknown).

export interface PreprocessorEnv {
  /** LINUX_VERSION_CODE of the target, when known. */
  versionCode?: number;
  /** The target's configuration: CONFIG_FOO → 'y' | 'm' | value. Absent options are unset. */
  config?: ReadonlyMap<string, string>;
  /**
   * Whether a name the file has not defined itself is a macro when the file is compiled: true (always:
   * a -D flag, a compiler predefine), false (defined nowhere it could come from), undefined (it may be).
   */
  macroPresence?: (name: string) => boolean | undefined;
  /**
   * The target's annotation macros (`__net_init`: object-like macros of its headers whose bodies are
   * attributes, sections or other annotations), blanked like kernel-api/macros.ts BLANKED_ANNOTATIONS.
   */
  annotations?: ReadonlySet<string>;
}

type Value = number | undefined;

const TOKEN = /\s*(0[xX][0-9a-fA-F]+|\d+|[A-Za-z_]\w*|&&|\|\||==|!=|<=|>=|<<|>>|[()!<>+\-*/%&|^~?:,])[uUlL]*/y;

export function kernelVersion(major: number, minor: number, patch: number): number {
  return major * 65536 + minor * 256 + Math.min(patch, 255);
}

/** Evaluates one `#if`/`#elif` expression. `defines` holds the macros the file defined so far. */
export function evaluateCondition(expr: string, env: PreprocessorEnv, defines: ReadonlySet<string>): boolean | undefined {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  const source = expr.replace(/\/\*.*?\*\/|\/\/.*$/g, ' ').trim();
  while (TOKEN.lastIndex < source.length) {
    const m = TOKEN.exec(source);
    if (!m) return undefined;
    tokens.push(m[1]!);
  }
  let pos = 0;
  const peek = () => tokens[pos];
  const next = () => tokens[pos++];

  const isDefined = (name: string): Value => {
    if (defines.has(name)) return 1;
    if (name === 'MODULE' || name === '__KERNEL__') return 1;
    if (name.startsWith('CONFIG_') && env.config) {
      const module = name.endsWith('_MODULE') ? env.config.get(name.slice(0, -7)) === 'm' : false;
      const value = env.config.get(name);
      return module || (value !== undefined && value !== 'm') ? 1 : 0;
    }
    const present = env.macroPresence?.(name);
    return present === undefined ? undefined : present ? 1 : 0;
  };
  const configValue = (name: string, accept: (v: string | undefined) => boolean): Value =>
    env.config ? (accept(env.config.get(name)) ? 1 : 0) : undefined;

  const primary = (): Value => {
    const t = next();
    if (t === undefined) throw new Error('unexpected end');
    if (t === '(') {
      const v = ternary();
      if (next() !== ')') throw new Error('missing )');
      return v;
    }
    if (t === '!') { const v = primary(); return v === undefined ? undefined : v ? 0 : 1; }
    if (t === '-') { const v = primary(); return v === undefined ? undefined : -v; }
    if (t === '~') { const v = primary(); return v === undefined ? undefined : ~v; }
    if (/^\d/.test(t)) return Number(t);
    if (t === 'defined') {
      const paren = peek() === '(';
      if (paren) next();
      const name = next() ?? '';
      if (paren && next() !== ')') throw new Error('missing )');
      return isDefined(name);
    }
    if (t === 'LINUX_VERSION_CODE') return env.versionCode;
    const args = (): string[] => {
      if (next() !== '(') throw new Error('missing (');
      const list: string[] = [];
      let depth = 0;
      let current = '';
      for (let tok = next(); tok !== undefined; tok = next()) {
        if (tok === ')' && depth === 0) { list.push(current); return list; }
        if (tok === ',' && depth === 0) { list.push(current); current = ''; continue; }
        if (tok === '(') depth++;
        if (tok === ')') depth--;
        current += tok;
      }
      throw new Error('missing )');
    };
    if (t === 'KERNEL_VERSION') {
      const [a, b, c] = args().map((s) => Number(s));
      return [a, b, c].some((n) => n === undefined || Number.isNaN(n)) ? undefined : kernelVersion(a!, b!, c!);
    }
    if (t === 'IS_ENABLED' || t === 'IS_REACHABLE') { const [n] = args(); return configValue(n!, (v) => v === 'y' || v === 'm'); }
    if (t === 'IS_BUILTIN') { const [n] = args(); return configValue(n!, (v) => v === 'y'); }
    if (t === 'IS_MODULE') { const [n] = args(); return configValue(n!, (v) => v === 'm'); }
    if (t.startsWith('CONFIG_') && env.config) {
      const v = env.config.get(t);
      return v === undefined ? 0 : v === 'y' || v === 'm' ? 1 : Number.isNaN(Number(v)) ? undefined : Number(v);
    }
    if (peek() === '(') { args(); return undefined; }
    // An identifier that is no macro evaluates to 0 in `#if`.
    return isDefined(t) === 0 ? 0 : undefined;
  };

  const binary = (levels: string[][], level: number): Value => {
    if (level === levels.length) return primary();
    let left = binary(levels, level + 1);
    while (levels[level]!.includes(peek() ?? '')) {
      const op = next()!;
      const right = binary(levels, level + 1);
      if (op === '&&') { left = left === 0 || right === 0 ? 0 : left === undefined || right === undefined ? undefined : 1; continue; }
      if (op === '||') { left = (left !== undefined && left !== 0) || (right !== undefined && right !== 0) ? 1 : left === undefined || right === undefined ? undefined : 0; continue; }
      if (left === undefined || right === undefined) { left = undefined; continue; }
      switch (op) {
        case '==': left = left === right ? 1 : 0; break;
        case '!=': left = left !== right ? 1 : 0; break;
        case '<': left = left < right ? 1 : 0; break;
        case '>': left = left > right ? 1 : 0; break;
        case '<=': left = left <= right ? 1 : 0; break;
        case '>=': left = left >= right ? 1 : 0; break;
        case '+': left = left + right; break;
        case '-': left = left - right; break;
        case '*': left = left * right; break;
        case '/': left = right === 0 ? undefined : Math.trunc(left / right); break;
        case '%': left = right === 0 ? undefined : left % right; break;
        case '<<': left = left * 2 ** right; break;
        case '>>': left = Math.floor(left / 2 ** right); break;
        case '&': left = left & right; break;
        case '|': left = left | right; break;
        case '^': left = left ^ right; break;
      }
    }
    return left;
  };
  const LEVELS = [['||'], ['&&'], ['|'], ['^'], ['&'], ['==', '!='], ['<', '>', '<=', '>='], ['<<', '>>'], ['+', '-'], ['*', '/', '%']];
  const ternary = (): Value => {
    const c = binary(LEVELS, 0);
    if (peek() !== '?') return c;
    next();
    const a = ternary();
    if (next() !== ':') throw new Error('missing :');
    const b = ternary();
    return c === undefined ? (a === b ? a : undefined) : c ? a : b;
  };
  try {
    const v = ternary();
    if (pos !== tokens.length) return undefined;
    return v === undefined ? undefined : v !== 0;
  } catch {
    return undefined;
  }
}
