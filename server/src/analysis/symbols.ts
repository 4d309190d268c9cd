// What one file defines, exports and refers to outside itself: the input of the module-level rules
// (`unexported-symbol`, `missing-module-license`) and of the workspace symbol index.
//
// Speed is the design constraint (all of Linux `drivers/` is linted within 1.5× of the bare parse). Even
// one `descendantsOfType` walk of the tree costs ~0.15 µs a node inside wasm (~20 ms on a 700 KB file, 15%
// of its parse) before any node reaches JS, so this pass does not touch the tree: it lexes the normalised
// text (same length as the original, inactive `#if` branches and annotations already blanked) once, in a
// single forward scan that knows just enough C to tell declarations from uses:
//  - a statement (after `{`, `}` or `;`) that starts with a type keyword, `ident ident`, `ident *… ident`
//    or a `DEFINE_…(name)`/`DECLARE_…(name)`/`LIST_HEAD(name)` macro is a declaration;
//  - a declared name is file-level at brace depth 0, otherwise it shadows the symbol in its block (C block
//    scoping: from the declarator to the closing brace; parameters for the function body; `for (int i…)`
//    for the loop);
//  - identifiers after `.`/`->` are fields, struct/union bodies hold fields, enumerators are file-level names.
// Being lexical it is also immune to tree-sitter's error recovery, which sometimes swallows
// `MODULE_LICENSE(…)` or `EXPORT_SYMBOL(…)` into ERROR nodes or declarators.
import { firstStartingAt, type ParsedFile, type Range } from './model';
import type { NormalizedSource } from '../parsing/normalize';
import { isIdentPart, isIdentStart } from '../parsing/chars';

export interface SymbolReference {
  name: string;
  range: Range;
  /** Followed by `(`: a call (or a function-like macro invocation). Otherwise a value/address reference. */
  isCall: boolean;
}

export interface SymbolDefinition {
  name: string;
  range: Range;
  isStatic: boolean;
  kind: 'function' | 'variable';
}

export interface SymbolExport {
  name: string;
  gplOnly: boolean;
  namespace?: string;
  /** The whole `EXPORT_SYMBOL…(…)` invocation. */
  range: Range;
}

export interface FileSymbols {
  /** Identifiers referring to something outside the file (not locals, parameters, fields or file-level names). */
  references: SymbolReference[];
  /** File-level function and variable definitions (not prototypes, not `extern` declarations). */
  definitions: SymbolDefinition[];
  exports: SymbolExport[];
  /**
   * `MODULE_LICENSE("…")`, or `MODULE_LICENSE(NAME)` with `#define NAME "…"` in this file (`macro` is
   * then NAME); the range covers the whole invocation.
   */
  license?: { value: string; range: Range; macro?: string };
  /**
   * `MODULE_LICENSE(NAME)` whose NAME this file does not define (a header does: mpi3mr.h's
   * MPI3MR_DRIVER_LICENSE): the module has a license, its value is NAME's (see `resolveLicense`).
   */
  unresolvedLicense?: { macro: string; range: Range };
  /** `MODULE_DESCRIPTION(…)`; the range covers the whole invocation. */
  description?: { range: Range };
  /** Namespaces named by `MODULE_IMPORT_NS(NS)` or `MODULE_IMPORT_NS("NS")`. */
  importedNamespaces: string[];
}

/** Keywords that make a statement a declaration. */
const TYPE_KEYWORDS = new Set([
  'void', 'char', 'short', 'int', 'long', 'float', 'double', 'signed', 'unsigned', '_Bool', 'bool', '_Complex',
  '__signed__', '__auto_type', 'struct', 'union', 'enum', 'typeof', '__typeof__', '__typeof', 'typeof_unqual',
]);
const SPECIFIER_KEYWORDS = new Set([
  'static', 'extern', 'const', 'volatile', 'register', 'inline', 'auto', 'restrict', 'typedef', '_Atomic',
  '_Noreturn', '_Thread_local', '__extension__', '__inline__', '__inline', '__restrict', '__restrict__',
  '__const', '__volatile__', '__volatile', '_Alignas', '__thread',
]);
/** Other words that are never symbols. */
const OTHER_KEYWORDS = new Set([
  'if', 'else', 'while', 'for', 'do', 'switch', 'case', 'default', 'break', 'continue', 'return', 'goto',
  'sizeof', '_Alignof', '__alignof__', 'alignof', '_Generic', '_Static_assert', 'static_assert', 'asm', '__asm__',
  '__asm', '__label__', '__builtin_offsetof', '__builtin_types_compatible_p', '__builtin_va_arg', 'true',
  'false', 'NULL',
]);
// `SIMPLE_DEV_PM_OPS(name, …)` and its `EXPORT_NS_GPL_…` variants define (and may export) `name`.
const DECLARING_MACRO = /^(?:DEFINE_|DECLARE_)\w+$|^LIST_HEAD$|^HLIST_HEAD$|^\w*DEV_PM_OPS$/;
const MODULE_MACROS = new Set([
  'MODULE_LICENSE', 'MODULE_DESCRIPTION', 'MODULE_IMPORT_NS',
  'EXPORT_SYMBOL', 'EXPORT_SYMBOL_GPL', 'EXPORT_SYMBOL_NS', 'EXPORT_SYMBOL_NS_GPL',
]);

const enum Tok { End, Ident, Punct, Literal }
const enum Ch {
  Tab = 9, NL = 10, CR = 13, Space = 32, Quote = 34, Hash = 35, Apos = 39, LParen = 40, RParen = 41,
  Star = 42, Comma = 44, Minus = 45, Dot = 46, Slash = 47, Colon = 58, Semi = 59, Eq = 61, Gt = 62,
  LBracket = 91, Backslash = 92, RBracket = 93, LBrace = 123, RBrace = 125,
  /** Pseudo code for `->`. */
  Arrow = 1000,
}


interface Scope {
  /** Brace depth the scope's names live at; it closes when a `}` takes the depth below it. */
  depth: number;
  names: string[];
  /** A `for (int i …)` scope over an unbraced body: closes at the next `;` at this brace depth. */
  closesAtSemicolon?: boolean;
}

/**
 * What a scan found, each item with its line, so that a re-scan can replace the lines of one stretch of
 * the file (scans resume and stop at tokens that start their line) and keep the rest as it is.
 */
interface ScanRecords {
  candidates: Array<{ line: number; reference: SymbolReference }>;
  fileNames: Array<{ line: number; name: string }>;
  definitions: Array<{ line: number; definition: SymbolDefinition }>;
  exports: Array<{ line: number; symbolExport: SymbolExport }>;
  namespaces: Array<{ line: number; name: string }>;
  licenses: Array<{ line: number; license: NonNullable<FileSymbols['license']> }>;
  /** Object-like macros of the file whose body is a name or a string (`#define DRV_LICENSE "GPL"`). */
  valueMacros: Array<{ line: number; name: string; body: string }>;
  descriptions: Array<{ line: number; description: NonNullable<FileSymbols['description']> }>;
}

/** A top-level statement start, first on its line: the scanner can resume there with no other state. */
interface SymbolCheckpoint {
  pos: number;
  line: number;
  column: number;
}

interface ScanState {
  records: ScanRecords;
  checkpoints: SymbolCheckpoint[];
}

/** The scan behind each result, kept for `updateSymbols`. */
const scanStates = new WeakMap<FileSymbols, ScanState>();

export function extractSymbols(file: ParsedFile): FileSymbols {
  const scanner = new SymbolScanner(file.normalized);
  scanner.run();
  return finish({ records: scanner.records, checkpoints: scanner.checkpoints });
}

/**
 * The symbols of `file` after an edit that changed its normalised text only in `window` (new
 * coordinates), given the symbols before: re-scans from the last top-level statement before the window
 * to the first one after it, keeping the rest.
 */
export function updateSymbols(previous: FileSymbols, file: ParsedFile, window: { start: number; oldEnd: number; newEnd: number }): FileSymbols {
  const state = scanStates.get(previous);
  if (!state) return extractSymbols(file);
  const delta = window.newEnd - window.oldEnd;
  const old = state.checkpoints;
  let k = old.length - 1;
  while (k >= 0 && old[k]!.pos >= window.start) k--;
  const from = old[k];
  let oldIndex = 0;
  const scanner = new SymbolScanner(file.normalized, from, (pos) => {
    if (pos <= window.newEnd) return false;
    while (oldIndex < old.length && old[oldIndex]!.pos < pos - delta) oldIndex++;
    return old[oldIndex]?.pos === pos - delta;
  });
  scanner.run();
  const startLine = from?.line ?? 0;
  const resumed = scanner.convergedAt === undefined ? undefined : old[oldIndex]!;
  const oldEndLine = resumed?.line ?? Infinity;
  const lines = resumed ? scanner.convergedLine - resumed.line : 0;
  // Records are in line order, except file-level names (a look-ahead may pass a `#define` first).
  const splice = <T extends { line: number }>(before: T[], fresh: T[], shift: (item: T) => T, inOrder = true): T[] => {
    const kept = inOrder ? before.slice(0, firstStartingAt(before, startLine, lineOf)) : before.filter((item) => item.line < startLine);
    const after = inOrder ? before.slice(firstStartingAt(before, oldEndLine, lineOf)) : before.filter((item) => item.line >= oldEndLine);
    // Lexing the token where the scan stopped may have recorded it (a module macro) again.
    const scanned = resumed ? fresh.filter((item) => item.line < scanner.convergedLine) : fresh;
    return kept.concat(scanned, lines === 0 ? after : after.map(shift));
  };
  const moved = (range: Range): Range => lines === 0 ? range : {
    start: { line: range.start.line + lines, character: range.start.character },
    end: { line: range.end.line + lines, character: range.end.character },
  };
  const was = state.records;
  const now = scanner.records;
  const records: ScanRecords = {
    candidates: splice(was.candidates, now.candidates, (c) => ({ line: c.line + lines, reference: { ...c.reference, range: moved(c.reference.range) } })),
    fileNames: splice(was.fileNames, now.fileNames, (f) => ({ ...f, line: f.line + lines }), false),
    definitions: splice(was.definitions, now.definitions, (d) => ({ line: d.line + lines, definition: { ...d.definition, range: moved(d.definition.range) } })),
    exports: splice(was.exports, now.exports, (e) => ({ line: e.line + lines, symbolExport: { ...e.symbolExport, range: moved(e.symbolExport.range) } })),
    namespaces: splice(was.namespaces, now.namespaces, (ns) => ({ ...ns, line: ns.line + lines })),
    licenses: splice(was.licenses, now.licenses, (l) => ({ line: l.line + lines, license: { ...l.license, range: moved(l.license.range) } })),
    valueMacros: splice(was.valueMacros, now.valueMacros, (m) => ({ ...m, line: m.line + lines }), false),
    descriptions: splice(was.descriptions, now.descriptions, (d) => ({ line: d.line + lines, description: { range: moved(d.description.range) } })),
  };
  const checkpoints = [
    ...old.slice(0, Math.max(k, 0)), // the run starts by recording `from` again
    ...scanner.checkpoints,
    ...(resumed ? old.slice(oldIndex).map((c) => ({ pos: c.pos + delta, line: c.line + lines, column: c.column })) : []),
  ];
  return finish({ records, checkpoints });
}

const lineOf = (record: { line: number }) => record.line;

/** The file's last MODULE_LICENSE, its macro argument resolved through the file's own `#define`s. */
function licenseOf(records: ScanRecords): Pick<FileSymbols, 'license' | 'unresolvedLicense'> {
  const last = records.licenses[records.licenses.length - 1]?.license;
  if (!last?.macro) return last ? { license: last } : {};
  const bodies = new Map(records.valueMacros.map((m) => [m.name, m.body]));
  const value = resolveLicense(last.macro, (name) => bodies.get(name));
  return value === undefined ? { unresolvedLicense: { macro: last.macro, range: last.range } } : { license: { ...last, value } };
}

/**
 * The string an object-like macro name stands for, following `#define A B` / `#define B "GPL"` a few
 * steps; `bodyOf` gives a macro's replacement text (the file's, or a header's).
 */
export function resolveLicense(name: string, bodyOf: (name: string) => string | undefined): string | undefined {
  let current = name;
  for (let step = 0; step < 4; step++) {
    const body = bodyOf(current)?.trim();
    if (body === undefined) return undefined;
    const value = stringValue(body);
    if (value !== undefined) return value;
    if (!/^[A-Za-z_]\w*$/.test(body)) return undefined;
    current = body;
  }
  return undefined;
}

function finish(state: ScanState): FileSymbols {
  const { records } = state;
  const fileNames = new Set(records.fileNames.map((f) => f.name));
  const symbols: FileSymbols = {
    references: records.candidates.filter((c) => !fileNames.has(c.reference.name)).map((c) => c.reference),
    definitions: records.definitions.map((d) => d.definition),
    exports: records.exports.map((e) => e.symbolExport),
    importedNamespaces: records.namespaces.map((ns) => ns.name),
    ...licenseOf(records),
    ...(records.descriptions.length > 0 ? { description: records.descriptions[records.descriptions.length - 1]!.description } : {}),
  };
  scanStates.set(symbols, state);
  return symbols;
}

class SymbolScanner {
  readonly records: ScanRecords = { candidates: [], fileNames: [], definitions: [], exports: [], namespaces: [], licenses: [], valueMacros: [], descriptions: [] };
  readonly checkpoints: SymbolCheckpoint[] = [];
  /** Where the scan stopped because the rest of the file is known (see `updateSymbols`). */
  convergedAt: number | undefined;
  convergedLine = 0;
  // Lexer state: position and the current token.
  private pos = 0;
  private line = 0;
  private lineStart = 0;
  private atLineStart = true;
  private kind = Tok.End;
  private start = 0;
  private end = 0;
  private punct = 0;
  private tokenLine = 0;
  private tokenColumn = 0;
  private lastModuleMacro = -1;
  // Parser state.
  private braceDepth = 0;
  private readonly scopes: Scope[] = [];
  private readonly shadowed = new Map<string, number>();
  /** Set after `goto`/`struct`: the next identifier is a label or tag. */
  private nextIdentIsNotSymbol = false;
  /** The current token follows `.` or `->` (a member or designator). */
  private afterMemberAccess = false;
  /** The current token is the first of its line. */
  private firstOnLine = false;

  /** `from`: a checkpoint of an earlier scan of the same text up to it; `known(pos)`: the rest from this checkpoint on is known. */
  private readonly text: string;

  constructor(private readonly normalized: NormalizedSource, from?: SymbolCheckpoint, private readonly known?: (pos: number) => boolean) {
    this.text = normalized.text;
    if (from) {
      this.pos = from.pos;
      this.line = from.line;
      this.lineStart = from.pos - from.column;
      this.kind = Tok.Punct;
      this.punct = Ch.Semi;
      this.lastModuleMacro = from.pos - 1;
    }
  }

  run(): void {
    this.advance();
    this.statements();
  }

  // ---- lexer -------------------------------------------------------------------------------------

  private advance(): void {
    const text = this.text;
    const n = text.length;
    let i = this.pos;
    for (;;) {
      if (i >= n) { this.kind = Tok.End; this.start = this.end = this.pos = n; return; }
      const c = text.charCodeAt(i);
      if (c === Ch.NL) {
        i++;
        this.line++;
        this.lineStart = i;
        this.atLineStart = true;
        if (isBlank(text.charCodeAt(i)) && isBlank(text.charCodeAt(i + LONG_BLANK))) i = this.skipBlankLines(i);
        continue;
      }
      if (c === Ch.Space || c === Ch.Tab || c === Ch.CR || c === 11 || c === 12) { i++; continue; }
      if (c === Ch.Backslash) { i++; continue; } // line continuation outside a directive
      if (c === Ch.Slash && text.charCodeAt(i + 1) === Ch.Star) { i = this.skipBlockComment(i + 2); continue; }
      if (c === Ch.Slash && text.charCodeAt(i + 1) === Ch.Slash) { const eol = text.indexOf('\n', i); i = eol < 0 ? n : eol; continue; }
      if (c === Ch.Hash && this.atLineStart) { i = this.directive(i); continue; }
      this.firstOnLine = this.atLineStart;
      this.atLineStart = false;
      this.afterMemberAccess = this.kind === Tok.Punct && (this.punct === Ch.Dot || this.punct === Ch.Arrow);
      this.start = i;
      this.tokenLine = this.line;
      this.tokenColumn = i - this.lineStart;
      if (isIdentStart(c)) {
        let j = i + 1;
        while (j < n && isIdentPart(text.charCodeAt(j))) j++;
        this.kind = Tok.Ident;
        this.end = this.pos = j;
        // Module macros all start with M or E: most identifiers need no look-up.
        if ((c === 77 || c === 69) && MODULE_MACROS.has(text.slice(i, j)) && i > this.lastModuleMacro) {
          this.lastModuleMacro = i;
          this.moduleMacro(text.slice(i, j));
        }
        return;
      }
      if (c === Ch.Quote || c === Ch.Apos) {
        this.kind = Tok.Literal;
        this.end = this.pos = this.skipQuoted(i);
        return;
      }
      if (c >= 48 && c <= 57) {
        let j = i + 1;
        while (j < n && (isIdentPart(text.charCodeAt(j)) || text.charCodeAt(j) === Ch.Dot)) j++;
        this.kind = Tok.Literal;
        this.end = this.pos = j;
        return;
      }
      this.kind = Tok.Punct;
      if (c === Ch.Minus && text.charCodeAt(i + 1) === Ch.Gt) { this.punct = Ch.Arrow; this.end = this.pos = i + 2; return; }
      this.punct = c;
      this.end = this.pos = i + 1;
      return;
    }
  }

  /**
   * From a line start, past a long blank stretch (a blanked data table, an inactive `#if` branch) in one
   * search, then the line it ends on from the normaliser's line starts.
   */
  private skipBlankLines(from: number): number {
    NOT_BLANK.lastIndex = from;
    const to = NOT_BLANK.exec(this.text)?.index ?? this.text.length;
    if (to - from <= LONG_BLANK) return from;
    const starts = this.normalized.lineStarts;
    let low = this.line;
    let high = starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (starts[middle]! <= to) low = middle;
      else high = middle - 1;
    }
    this.line = low;
    this.lineStart = starts[low]!;
    return to;
  }

  private skipBlockComment(from: number): number {
    const close = this.text.indexOf('*/', from);
    const end = close < 0 ? this.text.length : close + 2;
    this.countLines(from, end);
    return end;
  }

  private countLines(from: number, to: number): void {
    for (let k = this.text.indexOf('\n', from); k >= 0 && k < to; k = this.text.indexOf('\n', k + 1)) {
      this.line++;
      this.lineStart = k + 1;
    }
  }

  /** Skips a preprocessor line (with continuations); records `#define NAME` as a file-level name. */
  private directive(hashAt: number): number {
    const text = this.text;
    const match = /^#\s*define\s+([A-Za-z_]\w*)([ \t]+("[^"\n]*"[^\n]*|[A-Za-z_]\w*[ \t]*$))?/m.exec(text.slice(hashAt, hashAt + 200));
    if (match) this.records.fileNames.push({ name: match[1]!, line: this.line });
    if (match?.[3]) this.records.valueMacros.push({ name: match[1]!, body: match[3].replace(/\/\*.*?\*\/|\/\/.*$/g, ''), line: this.line });
    let j = hashAt;
    for (;;) {
      const eol = text.indexOf('\n', j);
      if (eol < 0) { j = text.length; break; }
      const comment = text.indexOf('/*', j);
      if (comment >= 0 && comment < eol) { j = this.skipBlockComment(comment + 2); continue; }
      const beforeEol = text.charCodeAt(eol - 1) === Ch.CR ? eol - 2 : eol - 1;
      if (text.charCodeAt(beforeEol) === Ch.Backslash) { this.line++; this.lineStart = eol + 1; j = eol + 1; continue; }
      j = eol;
      break;
    }
    return j;
  }

  private skipQuoted(i: number): number {
    const text = this.text;
    const quote = text.charCodeAt(i);
    let j = i + 1;
    while (j < text.length) {
      const c = text.charCodeAt(j);
      if (c === Ch.Backslash) {
        if (text.charCodeAt(j + 1) === Ch.NL) { this.line++; this.lineStart = j + 2; }
        j += 2;
      } else if (c === quote) return j + 1;
      else if (c === Ch.NL) return j;
      else j++;
    }
    return text.length;
  }

  private save() {
    return [this.pos, this.line, this.lineStart, this.atLineStart, this.kind, this.start, this.end, this.punct, this.tokenLine, this.tokenColumn, this.afterMemberAccess, this.firstOnLine] as const;
  }
  private restore(state: ReturnType<SymbolScanner['save']>): void {
    [this.pos, this.line, this.lineStart, this.atLineStart, this.kind, this.start, this.end, this.punct, this.tokenLine, this.tokenColumn, this.afterMemberAccess, this.firstOnLine] = state;
  }

  private word(): string {
    return this.text.slice(this.start, this.end);
  }
  /** A method rather than a field test: TypeScript would keep a narrowing of `kind` across `advance()`. */
  private atEnd(): boolean {
    return this.kind === Tok.End;
  }
  private isPunct(c: number): boolean {
    return this.kind === Tok.Punct && this.punct === c;
  }

  // ---- parser ------------------------------------------------------------------------------------

  /** The statement loop: runs to the end of the text, tracking braces, scopes and statement starts. */
  private statements(): void {
    let atStatementStart = true;
    let parenDepth = 0;
    const parenDepths: number[] = [];
    while (this.kind !== Tok.End) {
      if (atStatementStart && this.firstOnLine && this.braceDepth === 0 && parenDepth === 0 && parenDepths.length === 0 && this.scopes.length === 0
        && !this.nextIdentIsNotSymbol && !this.afterMemberAccess) {
        if (this.known?.(this.start)) {
          this.convergedAt = this.start;
          this.convergedLine = this.tokenLine;
          return;
        }
        this.checkpoints.push({ pos: this.start, line: this.tokenLine, column: this.tokenColumn });
      }
      if (parenDepth === 0 && this.kind === Tok.Ident) {
        // At file scope a type keyword can only start a declaration, even after a macro line without `;`.
        if (atStatementStart ? this.tryDeclaration() : this.braceDepth === 0 && this.startsWithTypeKeyword()) continue;
      }
      atStatementStart = false;
      if (this.kind === Tok.Ident) { this.expressionIdent(); continue; }
      if (this.kind === Tok.Punct) {
        switch (this.punct) {
          case Ch.LBrace:
            parenDepths.push(parenDepth);
            parenDepth = 0;
            this.braceDepth++;
            atStatementStart = true;
            break;
          case Ch.RBrace:
            if (this.braceDepth > 0) this.braceDepth--;
            this.closeScopes();
            parenDepth = parenDepths.pop() ?? 0;
            atStatementStart = true;
            break;
          case Ch.Semi:
            if (parenDepth === 0) {
              atStatementStart = true;
              this.closeForScopes();
            }
            break;
          case Ch.LParen: parenDepth++; break;
          case Ch.RParen: if (parenDepth > 0) parenDepth--; break;
        }
      }
      this.advance();
    }
  }

  /** An identifier in expression position (the current token). */
  private expressionIdent(): void {
    const name = this.word();
    if (this.nextIdentIsNotSymbol || this.afterMemberAccess) { this.nextIdentIsNotSymbol = false; this.advance(); return; }
    if (name === 'struct' || name === 'union' || name === 'enum') {
      const state = this.save();
      this.advance();
      if (this.kind === Tok.Ident) this.advance(); // the tag
      if (this.isPunct(Ch.LBrace)) { this.compositeBody(name === 'enum'); return; }
      this.restore(state);
      this.nextIdentIsNotSymbol = true;
      this.advance();
      return;
    }
    if (name === 'goto') { this.nextIdentIsNotSymbol = true; this.advance(); return; }
    if (name === 'for') { this.forHead(); return; }
    if (TYPE_KEYWORDS.has(name) || SPECIFIER_KEYWORDS.has(name) || OTHER_KEYWORDS.has(name)) { this.advance(); return; }
    const line = this.tokenLine;
    const column = this.tokenColumn;
    this.advance();
    if (!this.shadowed.has(name)) this.records.candidates.push({ line, reference: { name, range: lineRange(line, column, name.length), isCall: this.isPunct(Ch.LParen) } });
  }

  /**
   * At a statement start: parses a declaration if one starts here (and returns true), else leaves the
   * position unchanged and returns false.
   */
  private tryDeclaration(): boolean {
    const first = this.word();
    if (TYPE_KEYWORDS.has(first) || SPECIFIER_KEYWORDS.has(first)) {
      this.declaration();
      return true;
    }
    if (OTHER_KEYWORDS.has(first)) return false;
    const state = this.save();
    this.advance();
    if (this.kind === Tok.Punct && this.punct === Ch.Colon) {
      // A label: `out:` (never a declaration, never a symbol).
      this.advance();
      return true;
    }
    if (this.isPunct(Ch.LParen) && DECLARING_MACRO.test(first)) {
      this.restore(state);
      this.declaringMacro(false);
      return true;
    }
    let isDeclaration = this.kind === Tok.Ident && !OTHER_KEYWORDS.has(this.word());
    if (!isDeclaration && this.isPunct(Ch.Star)) {
      while (this.isPunct(Ch.Star)) this.advance();
      while (this.kind === Tok.Ident && SPECIFIER_KEYWORDS.has(this.word())) this.advance();
      isDeclaration = this.kind === Tok.Ident;
    }
    this.restore(state);
    if (isDeclaration) this.declaration();
    return isDeclaration;
  }

  private startsWithTypeKeyword(): boolean {
    const word = this.word();
    if (!TYPE_KEYWORDS.has(word) && !SPECIFIER_KEYWORDS.has(word)) return false;
    this.declaration();
    return true;
  }

  /** `static DEFINE_MUTEX(name);`, `LIST_HEAD(list);`: the first argument is the declared name. */
  private declaringMacro(isStatic: boolean): void {
    const macroStart = this.start;
    // `DEFINE_PER_CPU(type, name)` and friends take the type first.
    const typeFirst = this.word().includes('PER_CPU');
    this.expressionIdent(); // the macro itself is a reference (to a header macro)
    if (!this.isPunct(Ch.LParen)) return;
    this.advance();
    if (typeFirst) {
      while (!this.atEnd() && !this.isPunct(Ch.Comma) && !this.isPunct(Ch.RParen)) this.advance();
      if (this.isPunct(Ch.Comma)) this.advance();
    }
    if (this.kind === Tok.Ident && !TYPE_KEYWORDS.has(this.word())) {
      this.declare(this.word(), this.tokenLine, this.tokenColumn, { isStatic, isFunction: false, isDefinition: true, isTypedef: false, declarationStart: macroStart });
      this.advance();
    }
    this.expressionUntil(Ch.RParen);
  }

  /** A declaration from its specifiers to its `;` (or, for a function definition, to its body's `{`). */
  private declaration(): void {
    const declarationStart = this.start;
    let isStatic = false;
    let isExtern = false;
    let isTypedef = false;
    let sawType = false;
    // Specifiers.
    for (;;) {
      if (this.kind !== Tok.Ident) break;
      const word = this.word();
      if (SPECIFIER_KEYWORDS.has(word)) {
        if (word === 'static') isStatic = true;
        else if (word === 'extern') isExtern = true;
        else if (word === 'typedef') isTypedef = true;
        this.advance();
        if (word === '_Alignas' && this.isPunct(Ch.LParen)) { this.advance(); this.skipBalanced(Ch.RParen); }
        continue;
      }
      if (word === 'struct' || word === 'union' || word === 'enum') {
        sawType = true;
        this.advance();
        if (this.kind === Tok.Ident) this.advance();
        if (this.isPunct(Ch.LBrace)) this.compositeBody(word === 'enum');
        continue;
      }
      if (word === 'typeof' || word === '__typeof__' || word === '__typeof' || word === 'typeof_unqual') {
        sawType = true;
        this.advance();
        if (this.isPunct(Ch.LParen)) { this.advance(); this.expressionUntil(Ch.RParen); }
        continue;
      }
      if (TYPE_KEYWORDS.has(word)) { sawType = true; this.advance(); continue; }
      if (OTHER_KEYWORDS.has(word)) return;
      if (!sawType) {
        if (DECLARING_MACRO.test(word)) {
          const state = this.save();
          this.advance();
          const isCall = this.isPunct(Ch.LParen);
          this.restore(state);
          if (isCall) { this.declaringMacro(isStatic); return; }
        }
        sawType = true; // a typedef name
        this.advance();
        continue;
      }
      break;
    }
    // Declarators.
    for (;;) {
      const declarator = this.declarator();
      if (declarator) {
        const { name, line, column, isFunction } = declarator;
        if (isFunction && this.isPunct(Ch.LBrace) && this.braceDepth === 0) {
          // A function definition: the body is parsed by the statement loop, in the parameters' scope.
          this.declare(name, line, column, { isStatic, isFunction: true, isDefinition: true, isTypedef: false, declarationStart });
          return;
        }
        this.declare(name, line, column, { isStatic, isFunction, isDefinition: !isExtern && !isFunction, isTypedef, declarationStart });
        if (isFunction) this.dropPendingParameterScope();
      }
      if (this.isPunct(Ch.Eq)) { this.advance(); this.expressionUntil(Ch.Comma, Ch.Semi); }
      if (this.isPunct(Ch.Comma)) { this.advance(); continue; }
      return; // `;` (left for the statement loop) or something unexpected
    }
  }

  /**
   * One declarator: pointers, a name (possibly in parentheses), array sizes, a parameter list. Leaves
   * the position on the token after it. For a function declarator the parameters are declared in a
   * pending scope one brace level down, which the body's `{` adopts (or `dropPendingParameterScope`).
   */
  private declarator(): { name: string; line: number; column: number; isFunction: boolean } | undefined {
    let name: string | undefined;
    let line = 0;
    let column = 0;
    let isFunction = false;
    while (this.isPunct(Ch.Star) || (this.kind === Tok.Ident && SPECIFIER_KEYWORDS.has(this.word()))) this.advance();
    if (this.isPunct(Ch.LParen)) {
      this.advance();
      if (!this.isPunct(Ch.Star)) {
        // `static DEVICE_ATTR_RO(foo);`: a macro that expands to a definition; its arguments are uses.
        this.expressionUntil(Ch.RParen);
        return undefined;
      }
      // `(*name)(…)`: a pointer to function or array. Its own parameter list names nothing.
      while (this.isPunct(Ch.Star) || (this.kind === Tok.Ident && SPECIFIER_KEYWORDS.has(this.word()))) this.advance();
      if (this.kind === Tok.Ident) { name = this.word(); line = this.tokenLine; column = this.tokenColumn; this.advance(); }
      this.skipBalanced(Ch.RParen);
      while (this.isPunct(Ch.LParen) || this.isPunct(Ch.LBracket)) {
        const close = this.isPunct(Ch.LParen) ? Ch.RParen : Ch.RBracket;
        this.advance();
        if (close === Ch.RBracket) this.expressionUntil(Ch.RBracket);
        else this.skipBalanced(Ch.RParen);
      }
      return name === undefined ? undefined : { name, line, column, isFunction: false };
    }
    if (this.kind !== Tok.Ident || OTHER_KEYWORDS.has(this.word())) return undefined;
    name = this.word();
    line = this.tokenLine;
    column = this.tokenColumn;
    this.advance();
    while (this.isPunct(Ch.LBracket)) { this.advance(); this.expressionUntil(Ch.RBracket); }
    if (this.isPunct(Ch.LParen)) {
      isFunction = true;
      this.advance();
      this.parameters();
    }
    // Trailing qualifiers and blanked attributes leave nothing; bit-fields (`: 3`) only occur in bodies we skip.
    return { name, line, column, isFunction };
  }

  /** A parameter list after its `(`, up to and including `)`: names go to a pending scope. */
  private parameters(): void {
    const scope: Scope = { depth: this.braceDepth + 1, names: [] };
    this.scopes.push(scope);
    while (this.kind !== Tok.End && !this.isPunct(Ch.RParen)) {
      // One parameter: specifiers and type, then an optional declarator.
      let sawType = false;
      while (this.kind === Tok.Ident) {
        const word = this.word();
        if (SPECIFIER_KEYWORDS.has(word)) { this.advance(); continue; }
        if (word === 'struct' || word === 'union' || word === 'enum') { this.advance(); if (this.kind === Tok.Ident) this.advance(); sawType = true; continue; }
        if (word === 'typeof' || word === '__typeof__') { this.advance(); if (this.isPunct(Ch.LParen)) { this.advance(); this.skipBalanced(Ch.RParen); } sawType = true; continue; }
        if (TYPE_KEYWORDS.has(word)) { this.advance(); sawType = true; continue; }
        if (!sawType) { this.advance(); sawType = true; continue; } // a typedef name
        break;
      }
      if (this.isPunct(Ch.Dot)) { while (this.isPunct(Ch.Dot)) this.advance(); continue; } // `...`
      if (!this.isPunct(Ch.Comma) && !this.isPunct(Ch.RParen)) {
        const declarator = this.declarator();
        if (declarator?.isFunction) this.dropPendingParameterScope(); // a function-typed parameter's own list
        if (declarator) this.shadowIn(scope, declarator.name);
      }
      // Anything unexpected up to the next `,`/`)` is skipped.
      while (!this.atEnd() && !this.isPunct(Ch.Comma) && !this.isPunct(Ch.RParen)) {
        if (this.isPunct(Ch.LParen)) { this.advance(); this.skipBalanced(Ch.RParen); continue; }
        this.advance();
      }
      if (this.isPunct(Ch.Comma)) this.advance();
    }
    if (this.isPunct(Ch.RParen)) this.advance();
  }

  /** Drops the parameter scope a prototype's declarator pushed (its names are scoped to nothing). */
  private dropPendingParameterScope(): void {
    const top = this.scopes[this.scopes.length - 1];
    if (top && top.depth > this.braceDepth) this.popScope();
  }

  private declare(
    name: string, line: number, column: number,
    how: { isStatic: boolean; isFunction: boolean; isDefinition: boolean; isTypedef: boolean; declarationStart: number },
  ): void {
    if (this.braceDepth > 0) {
      if (!how.isFunction || how.isTypedef) this.shadowIn(this.currentScope(), name);
      return;
    }
    if (how.isTypedef) { this.records.fileNames.push({ name, line }); return; }
    if (!how.isDefinition) return; // a prototype or `extern` declaration refers to something elsewhere
    this.records.fileNames.push({ name, line });
    this.records.definitions.push({ line, definition: { name, range: lineRange(line, column, name.length), isStatic: how.isStatic, kind: how.isFunction ? 'function' : 'variable' } });
  }

  /** The scope of the current brace level, created on first use. */
  private currentScope(): Scope {
    const top = this.scopes[this.scopes.length - 1];
    if (top && top.depth === this.braceDepth && !top.closesAtSemicolon) return top;
    const scope: Scope = { depth: this.braceDepth, names: [] };
    this.scopes.push(scope);
    return scope;
  }

  private shadowIn(scope: Scope, name: string): void {
    scope.names.push(name);
    this.shadowed.set(name, (this.shadowed.get(name) ?? 0) + 1);
  }

  private popScope(): void {
    const scope = this.scopes.pop()!;
    for (const name of scope.names) {
      const count = this.shadowed.get(name)! - 1;
      if (count === 0) this.shadowed.delete(name);
      else this.shadowed.set(name, count);
    }
  }

  /** After a `}`: closes every scope deeper than the current brace depth. */
  private closeScopes(): void {
    for (let top = this.scopes[this.scopes.length - 1]; top && top.depth > this.braceDepth; top = this.scopes[this.scopes.length - 1]) this.popScope();
  }

  private closeForScopes(): void {
    for (let top = this.scopes[this.scopes.length - 1]; top?.closesAtSemicolon && top.depth === this.braceDepth + 1; top = this.scopes[this.scopes.length - 1]) this.popScope();
  }

  /** `for (` …: a declaration in the init clause is scoped to the loop. */
  private forHead(): void {
    this.advance();
    if (!this.isPunct(Ch.LParen)) return;
    this.advance();
    const startsDeclaration = this.kind === Tok.Ident && this.looksLikeDeclaration();
    if (!startsDeclaration) { this.expressionUntil(Ch.RParen); return; }
    // The loop's scope is one brace level down: a braced body adopts it, else it ends at the body's `;`.
    this.braceDepth++;
    const scope = this.currentScope();
    this.declaration();
    this.braceDepth--;
    this.expressionUntil(Ch.RParen);
    if (!this.isPunct(Ch.LBrace)) scope.closesAtSemicolon = true;
  }

  private looksLikeDeclaration(): boolean {
    const first = this.word();
    if (TYPE_KEYWORDS.has(first) || SPECIFIER_KEYWORDS.has(first)) return true;
    if (OTHER_KEYWORDS.has(first)) return false;
    const state = this.save();
    this.advance();
    while (this.isPunct(Ch.Star)) this.advance();
    const result = this.kind === Tok.Ident && !OTHER_KEYWORDS.has(this.word());
    this.restore(state);
    return result;
  }

  /**
   * Expression tokens up to (not including) one of the terminators at nesting depth 0, or up to and
   * including a `)`/`]` terminator. Identifiers in it are references.
   */
  private expressionUntil(...terminators: number[]): void {
    let depth = 0;
    while (this.kind !== Tok.End) {
      if (this.kind === Tok.Ident) { this.expressionIdent(); continue; }
      if (this.kind === Tok.Punct) {
        const c = this.punct;
        if (depth === 0 && terminators.includes(c)) {
          if (c === Ch.RParen || c === Ch.RBracket) this.advance();
          return;
        }
        if (c === Ch.LParen || c === Ch.LBracket || c === Ch.LBrace) depth++;
        else if (c === Ch.RParen || c === Ch.RBracket || c === Ch.RBrace) {
          if (depth === 0) return; // unbalanced: let the caller see it
          depth--;
        } else if (c === Ch.Semi && depth === 0 && !terminators.includes(Ch.RParen)) return; // runaway initializer
      }
      this.advance();
    }
  }

  /** Skips to just after the `)`/`]` that closes a group whose opener was already consumed. */
  private skipBalanced(close: number): void {
    const open = close === Ch.RParen ? Ch.LParen : Ch.LBracket;
    let depth = 1;
    while (this.kind !== Tok.End) {
      if (this.kind === Tok.Punct) {
        if (this.punct === open) depth++;
        else if (this.punct === close && --depth === 0) { this.advance(); return; }
        else if (this.punct === Ch.Semi && depth === 1 && close === Ch.RParen && this.braceDepth === 0) return; // runaway
      }
      this.advance();
    }
  }

  /**
   * A struct/union body (fields: not symbols; array sizes are references) or an enum body (each
   * enumerator is a file-level name; values are references). The current token is its `{`.
   */
  private compositeBody(isEnum: boolean): void {
    this.advance();
    let depth = 1;
    let expectEnumerator = isEnum;
    while (this.kind !== Tok.End) {
      if (this.kind === Tok.Punct) {
        const c = this.punct;
        if (c === Ch.LBrace) depth++;
        else if (c === Ch.RBrace && --depth === 0) { this.advance(); return; }
        else if (c === Ch.LBracket) { this.advance(); this.expressionUntil(Ch.RBracket); continue; }
        else if (c === Ch.Comma && isEnum && depth === 1) expectEnumerator = true;
        else if (c === Ch.Eq && isEnum) { this.advance(); this.expressionUntil(Ch.Comma, Ch.RBrace); continue; }
        this.advance();
        continue;
      }
      if (this.kind === Tok.Ident && expectEnumerator) {
        this.records.fileNames.push({ name: this.word(), line: this.tokenLine });
        expectEnumerator = false;
      }
      this.advance();
    }
  }

  // ---- module macros -----------------------------------------------------------------------------

  /** `MODULE_LICENSE("…")`, `EXPORT_SYMBOL_GPL(sym)`…, read from the text after the macro name. */
  private moduleMacro(macro: string): void {
    const text = this.text;
    let open = this.end;
    while (open < text.length && (text.charCodeAt(open) === Ch.Space || text.charCodeAt(open) === Ch.Tab)) open++;
    if (text.charCodeAt(open) !== Ch.LParen) return;
    const close = closingParen(text, open + 1);
    if (close < 0) return;
    const args = text.slice(open + 1, close);
    const endLineOffset = args.lastIndexOf('\n');
    const range: Range = {
      start: { line: this.tokenLine, character: this.tokenColumn },
      end: endLineOffset < 0
        ? { line: this.tokenLine, character: this.tokenColumn + (close + 1 - this.start) }
        : { line: this.tokenLine + countNewlines(args), character: args.length - endLineOffset },
    };
    const records = this.records;
    const line = this.tokenLine;
    if (macro === 'MODULE_LICENSE') {
      const value = stringValue(args);
      const name = args.trim();
      if (value !== undefined) records.licenses.push({ line, license: { value, range } });
      else if (/^[A-Za-z_]\w*$/.test(name)) records.licenses.push({ line, license: { value: '', range, macro: name } });
    } else if (macro === 'MODULE_DESCRIPTION') {
      records.descriptions.push({ line, description: { range } });
    } else if (macro === 'MODULE_IMPORT_NS') {
      const namespace = stringValue(args) ?? args.trim();
      if (/^\w+$/.test(namespace)) records.namespaces.push({ line, name: namespace });
    } else {
      const [symbol = '', namespaceArg] = args.split(',').map((part) => part.trim());
      if (!/^[A-Za-z_]\w*$/.test(symbol)) return;
      const namespace = namespaceArg === undefined ? undefined : stringValue(namespaceArg) ?? namespaceArg;
      records.exports.push({ line, symbolExport: {
        name: symbol,
        gplOnly: macro.endsWith('_GPL'),
        ...(namespace && /^\w+$/.test(namespace) ? { namespace } : {}),
        range,
      } });
    }
  }
}

/** Blank stretches longer than this are skipped with one search. */
const LONG_BLANK = 256;
const NOT_BLANK = /[^ \t\r\n\f\v]/g;

function isBlank(c: number): boolean {
  return c === Ch.Space || c === Ch.Tab || c === Ch.NL || c === Ch.CR || c === 11 || c === 12;
}

function lineRange(line: number, column: number, length: number): Range {
  return { start: { line, character: column }, end: { line, character: column + length } };
}

function countNewlines(text: string): number {
  let count = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) count++;
  return count;
}

/** The value of one or more adjacent string literals (`"GPL" " v2"`), or undefined if `args` is not that. */
function stringValue(args: string): string | undefined {
  const trimmed = args.trim();
  if (!/^("(?:[^"\\\n]|\\.)*"\s*)+$/.test(trimmed)) return undefined;
  let value = '';
  for (const literal of trimmed.matchAll(/"((?:[^"\\\n]|\\.)*)"/g)) value += literal[1]!.replace(/\\(.)/g, '$1');
  return value;
}

/** Offset of the `)` closing an argument list whose contents start at `from`; -1 if unbalanced. */
function closingParen(text: string, from: number): number {
  let depth = 1;
  const limit = Math.min(text.length, from + 4096); // module macros are one short line
  for (let i = from; i < limit; i++) {
    const c = text.charCodeAt(i);
    if (c === Ch.Quote) {
      for (i++; i < limit && text.charCodeAt(i) !== Ch.Quote; i++) if (text.charCodeAt(i) === Ch.Backslash) i++;
    } else if (c === Ch.LParen) depth++;
    else if (c === Ch.RParen && --depth === 0) return i;
  }
  return -1;
}
