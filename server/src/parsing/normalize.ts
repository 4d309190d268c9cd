// A pre-pass over kernel C that rewrites it WITHOUT changing its length, so that every offset, row and
// column of the tree still points into the user's text. It
//  - keeps only the live branch of `#if` groups (evaluated against the target when known, else the first
//    branch) and blanks the conditional directives, so tree-sitter sees plain C;
//  - blanks annotation macros (`__init`, `__user`, `__attribute__((…))`…) that the C grammar mis-parses,
//    recording the lock annotations (`__acquires(x)`…) for the analysis;
//  - turns iterator-macro heads (`list_for_each_entry(…) {`, `scoped_guard(…) {`) into `while (…) {`;
//  - blanks `struct`/`union`/`enum` used as macro arguments (`container_of(p, struct foo, m)`) and GNU
//    case ranges (`case 1 ... 5:`).
// What it changed is described by `statementMacros` (which `while` heads were macros) so the analysis can
// tell a `scoped_guard` from a loop.
import { BLANKED_ANNOTATIONS, BLANKED_ANNOTATIONS_WITH_ARGS, ITERATOR_MACROS, LOCK_ANNOTATIONS } from '../kernel-api/macros';
import { evaluateCondition, type PreprocessorEnv } from './preprocessor';
import { isIdentPart, isIdentStart } from './chars';

export interface LockAnnotation {
  kind: 'acquires' | 'releases' | 'must_hold';
  /** The annotation's argument as written (`dev->lock`). */
  lockExpression: string;
  offset: number;
}

export interface StatementMacro {
  name: string;
  offset: number;
  /** Offsets of the argument list's parentheses in the text. */
  openParen: number;
  closeParen: number;
}

/** A call site seen while lexing: `name(` in live code (member calls `x->fn(` have no name). */
export interface LexicalCall {
  name: string | undefined;
  start: number;
  /** Offset of the `(`. */
  open: number;
}

export interface NormalizedSource {
  text: string;
  /** Every call site in live code outside preprocessor directives, in document order. */
  calls: LexicalCall[];
  lockAnnotations: LockAnnotation[];
  /** Iterator/scope macros rewritten to `while`, keyed by the offset of the `while`. */
  statementMacros: Map<number, StatementMacro>;
  /** Ranges [start, end) removed as inactive preprocessor branches. */
  inactiveRanges: Array<[number, number]>;
  /** Blanked data rows of initializers, flat: start, end, start, end… in order (see DATA_ROW). */
  dataRows: number[];
  /** Scanner states at line starts, for `renormalize`. */
  checkpoints: NormalizerCheckpoint[];
  /** Offset of each line's start (the same in the source and the normalised text). */
  lineStarts: number[];
}

/**
 * Runs of data rows separated only by white space, [start, end): text the parser can skip. Only runs
 * of at least `minimum` characters are worth a range of their own.
 */
export function dataRuns(normalized: NormalizedSource, minimum = 2048): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  const text = normalized.text;
  let runStart = -1;
  let runEnd = -1;
  const close = () => {
    if (runStart >= 0 && runEnd - runStart >= minimum) runs.push([runStart, runEnd]);
  };
  const rows = normalized.dataRows;
  for (let r = 0; r < rows.length; r += 2) {
    const start = rows[r]!;
    const end = rows[r + 1]!;
    let k = runEnd;
    if (runStart >= 0) while (k < start && (text.charCodeAt(k) <= 32)) k++;
    if (runStart >= 0 && k === start) runEnd = end;
    else {
      close();
      runStart = start;
      runEnd = end;
    }
  }
  close();
  return runs;
}

/** Identifiers followed by `(` that are not calls. */
const NOT_CALLS = new Set([
  'if', 'while', 'for', 'switch', 'return', 'sizeof', 'typeof', '__typeof__', '__typeof', 'alignof', '_Alignof',
  '__alignof__', 'case', 'do', 'else', 'defined', 'asm', '__asm__', '__asm', 'volatile', '__volatile__', 'goto',
  '_Static_assert', 'static_assert', '_Generic', 'typeof_unqual', 'int', 'char', 'void', 'long', 'short',
  'unsigned', 'signed', 'float', 'double', 'const',
]);
const NON_CALL_KEYWORDS = new Set([
  'if', 'while', 'for', 'switch', 'return', 'sizeof', 'typeof', '__typeof__', '__typeof', '_Alignof',
  'alignof', '__alignof__', 'case', '_Generic', '__builtin_types_compatible_p', 'typeof_unqual',
]);

// One lookup per identifier: what the scanner may have to do with a word.
const BLANK = 1;
const BLANK_WITH_ARGS = 2;
const ITERATOR = 4;
const NOT_CALL = 8;
const NOT_CALL_PAREN = 16;
const TYPE_KEYWORD = 32;
const CASE = 64;
const WORD_FLAGS = new Map<string, number>();
const flag = (words: Iterable<string>, bit: number) => {
  for (const word of words) WORD_FLAGS.set(word, (WORD_FLAGS.get(word) ?? 0) | bit);
};
flag(BLANKED_ANNOTATIONS, BLANK);
flag(BLANKED_ANNOTATIONS_WITH_ARGS, BLANK_WITH_ARGS);
flag(Object.keys(LOCK_ANNOTATIONS), BLANK_WITH_ARGS);
flag(ITERATOR_MACROS, ITERATOR);
flag(NOT_CALLS, NOT_CALL);
flag(NON_CALL_KEYWORDS, NOT_CALL_PAREN);
flag(['struct', 'union', 'enum'], TYPE_KEYWORD);
flag(['case'], CASE);

/** WORD_FLAGS with the target's own annotations (see PreprocessorEnv.annotations), per annotation set. */
const flagsWithAnnotations = new WeakMap<ReadonlySet<string>, Map<string, number>>();

function wordFlagsFor(env: PreprocessorEnv): Map<string, number> {
  if (!env.annotations || env.annotations.size === 0) return WORD_FLAGS;
  let flags = flagsWithAnnotations.get(env.annotations);
  if (!flags) {
    flags = new Map(WORD_FLAGS);
    for (const word of env.annotations) if (!flags.has(word)) flags.set(word, BLANK);
    flagsWithAnnotations.set(env.annotations, flags);
  }
  return flags;
}

const enum Ch {
  Tab = 9, NL = 10, CR = 13, Space = 32, Quote = 34, Hash = 35, Apos = 39, LParen = 40, RParen = 41,
  Star = 42, Comma = 44, Dot = 46, Slash = 47, Colon = 58, Semi = 59, Eq = 61, Backslash = 92, LBrace = 123,
  RBrace = 125,
}


interface ConditionalFrame {
  /** Was the region around this group live? */
  parentLive: boolean;
  /** Has a branch of this group been chosen already? */
  chosen: boolean;
  /** Is the current branch live? */
  live: boolean;
}

/**
 * Normalises a whole file. `resumable`: keep the checkpoints `renormalize` resumes from (the editor);
 * without them a later `renormalize` re-scans the whole file.
 */
export function normalize(source: string, env: PreprocessorEnv = {}, { resumable = false } = {}): NormalizedSource {
  const run = scan(source, env, initialState(), undefined, resumable);
  return {
    text: applyEdits(source, run.edits),
    calls: run.calls,
    lockAnnotations: run.lockAnnotations,
    statementMacros: new Map(run.statementMacros.map((m) => [m.offset, m])),
    inactiveRanges: run.inactiveRanges,
    dataRows: run.dataRows,
    checkpoints: run.checkpoints,
    // Computed on first use: a lint that reports nothing may never need a position.
    get lineStarts(): number[] {
      const starts = newlinesIn(source, 0, source.length, [0]);
      Object.defineProperty(this, 'lineStarts', { value: starts });
      return starts;
    },
  };
}

/** Appends the offset after each newline of text[from, to) to `starts`. */
function newlinesIn(text: string, from: number, to: number, starts: number[]): number[] {
  for (let k = text.indexOf('\n', from); k >= 0 && k < to; k = text.indexOf('\n', k + 1)) starts.push(k + 1);
  return starts;
}

/** Where an edit of the source is: [start, oldEnd) of the old text became [start, newEnd) of the new. */
export interface TextChange {
  start: number;
  oldEnd: number;
  newEnd: number;
}

/**
 * Normalises `source`, which is `previous`'s source after `change`, re-scanning only from the last
 * checkpoint before the change to the first point after it where the scanner's state matches the old
 * run's: a keystroke costs a few lines, not the file. Returns the window of the normalised text that may
 * differ (the rest is the old normalised text, shifted).
 */
export function renormalize(previous: NormalizedSource, source: string, change: TextChange, env: PreprocessorEnv = {}): { normalized: NormalizedSource; window: TextChange } {
  const delta = change.newEnd - change.oldEnd;
  const old = previous.checkpoints;
  // The last checkpoint before the change whose scanner had not looked at the changed text.
  let k = lastIndexAtOrBefore(old, change.start, (c) => c.pos);
  while (k >= 0 && old[k]!.horizon >= change.start) k--;
  const from = k >= 0 ? old[k]! : undefined;
  const mapOld = (offset: number) => (offset < change.start ? offset : offset + delta);
  const run = scan(source, env, from ?? initialState(), {
    after: change.newEnd,
    matches: (at, state) => {
      const j = lastIndexAtOrBefore(old, at - delta, (c) => c.pos);
      const candidate = old[j];
      if (!candidate || candidate.pos !== at - delta || candidate.pos <= change.oldEnd) return false;
      return sameState(state, candidate, mapOld, at);
    },
  });
  const start = from?.pos ?? 0;
  const end = run.convergedAt ?? source.length;
  const oldEnd = run.convergedAt === undefined ? previous.text.length : end - delta;
  const windowEdits: Array<[number, number, string | null]> = [];
  for (const [a, b, replacement] of run.edits) {
    if (b <= start) continue;
    windowEdits.push(a >= start ? [a - start, b - start, replacement] : [0, b - start, null]);
  }
  if (run.convergedAt !== undefined && !run.final.state.live) windowEdits.push([Math.max(run.final.inactiveStart, start) - start, end - start, null]);
  const text = previous.text.slice(0, start) + applyEdits(source.slice(start, end), windowEdits) + previous.text.slice(oldEnd);
  const keepBefore = <T>(items: T[], position: (item: T) => number) => items.slice(0, lastIndexAtOrBefore(items, start - 1, position) + 1);
  const shiftedAfter = <T>(items: T[], position: (item: T) => number, shift: (item: T) => T) =>
    run.convergedAt === undefined ? [] : items.slice(lastIndexAtOrBefore(items, oldEnd - 1, position) + 1).map(delta === 0 ? (item) => item : shift);
  const calls = [...keepBefore(previous.calls, (c) => c.start), ...run.calls,
    ...shiftedAfter(previous.calls, (c) => c.start, (c) => ({ name: c.name, start: c.start + delta, open: c.open + delta }))];
  const lockAnnotations = [...keepBefore(previous.lockAnnotations, (a) => a.offset), ...run.lockAnnotations,
    ...shiftedAfter(previous.lockAnnotations, (a) => a.offset, (a) => ({ ...a, offset: a.offset + delta }))];
  const oldMacros = [...previous.statementMacros.values()];
  const statementMacros = [...keepBefore(oldMacros, (m) => m.offset), ...run.statementMacros,
    ...shiftedAfter(oldMacros, (m) => m.offset, (m) => ({ ...m, offset: m.offset + delta, openParen: m.openParen + delta, closeParen: m.closeParen + delta }))];
  // Ranges are recorded when they end: those ending before `start` were complete at the checkpoint.
  const inactiveRanges: Array<[number, number]> = [...keepBefore(previous.inactiveRanges, ([, b]) => b), ...run.inactiveRanges,
    ...shiftedAfter(previous.inactiveRanges, ([, b]) => b, ([a, b]): [number, number] => [mapOld(a), b + delta])];
  const rows = previous.dataRows;
  const dataRows = rows.slice(0, firstPairFrom(rows, start)).concat(run.dataRows);
  if (run.convergedAt !== undefined) for (let r = firstPairFrom(rows, oldEnd); r < rows.length; r++) dataRows.push(rows[r]! + delta);
  const checkpoints = [...old.slice(0, k + 1), ...run.checkpoints,
    ...shiftedAfter(old, (c) => c.pos, (c) => ({ pos: c.pos + delta, horizon: c.horizon + delta, inactiveStart: mapOld(c.inactiveStart), state: c.state }))];
  return {
    normalized: {
      text, calls, lockAnnotations, statementMacros: new Map(statementMacros.map((m) => [m.offset, m])), inactiveRanges, dataRows, checkpoints,
      lineStarts: shiftLineStarts(previous.lineStarts, source, change),
    },
    window: { start, oldEnd, newEnd: end },
  };
}

/** The line starts of `source` from those of its text before `change`. */
function shiftLineStarts(old: readonly number[], source: string, change: TextChange): number[] {
  const delta = change.newEnd - change.oldEnd;
  // A line start L follows the newline at L - 1: kept when that newline is before the change.
  const kept = lastIndexAtOrBefore(old, change.start, (offset) => offset);
  const starts = newlinesIn(source, change.start, change.newEnd, old.slice(0, kept + 1));
  for (let k = lastIndexAtOrBefore(old, change.oldEnd, (offset) => offset) + 1; k < old.length; k++) starts.push(old[k]! + delta);
  return starts;
}

/** Index of the first pair of the flat list `pairs` (start, end, start, end…) whose start is ≥ `offset`. */
function firstPairFrom(pairs: readonly number[], offset: number): number {
  let low = 0;
  let high = pairs.length / 2;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (pairs[2 * middle]! < offset) low = middle + 1;
    else high = middle;
  }
  return 2 * low;
}

/** Index of the last item whose position is ≤ `offset` (items sorted by position); -1 if none. */
function lastIndexAtOrBefore<T>(items: readonly T[], offset: number, position: (item: T) => number): number {
  let low = 0;
  let high = items.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (position(items[middle]!) <= offset) low = middle + 1;
    else high = middle;
  }
  return low - 1;
}

/** The scanner's state at the start of a line: enough to resume there. */
export interface NormalizerCheckpoint {
  pos: number;
  /** The furthest offset any decision before `pos` looked at: an edit at or before it invalidates this checkpoint. */
  horizon: number;
  inactiveStart: number;
  /** The rest of the state, which holds no offsets and so is shared by the shifted copies of a checkpoint. */
  state: ScannerState;
}

interface ScannerState {
  live: boolean;
  conditionals: string;
  defines: ReadonlySet<string>;
  parenIsCall: boolean[];
  /** Per open brace: does it open an initializer list? */
  initializerBraces: boolean[];
  previousWord: string;
  previousChar: number;
  previousIsIdent: boolean;
  previousOpensNonCall: boolean;
  inCaseLabel: boolean;
  afterMember: boolean;
}

function initialState(): NormalizerCheckpoint {
  return {
    pos: 0, horizon: -1, inactiveStart: -1,
    state: {
      live: true, conditionals: '', defines: new Set(), parenIsCall: [], initializerBraces: [],
      previousWord: '', previousChar: Ch.Semi, previousIsIdent: false, previousOpensNonCall: false, inCaseLabel: false, afterMember: false,
    },
  };
}

function sameState(nowCheckpoint: NormalizerCheckpoint, oldCheckpoint: NormalizerCheckpoint, mapOld: (offset: number) => number, at: number): boolean {
  const now = nowCheckpoint.state;
  const old = oldCheckpoint.state;
  if (now.live !== old.live || now.conditionals !== old.conditionals || now.previousChar !== old.previousChar || now.previousIsIdent !== old.previousIsIdent
    // The previous word matters only when the previous token is a word.
    || (now.previousIsIdent && (now.previousWord !== old.previousWord || now.previousOpensNonCall !== old.previousOpensNonCall)) || now.inCaseLabel !== old.inCaseLabel
    || now.afterMember !== old.afterMember || !sameArray(now.parenIsCall, old.parenIsCall) || !sameArray(now.initializerBraces, old.initializerBraces)) return false;
  if (!now.live && nowCheckpoint.inactiveStart !== mapOld(oldCheckpoint.inactiveStart)) return false;
  // A look-ahead past this point changes what later checkpoints may be resumed for.
  if (!(nowCheckpoint.horizon < at && oldCheckpoint.horizon < oldCheckpoint.pos) && nowCheckpoint.horizon !== mapOld(oldCheckpoint.horizon)) return false;
  if (now.defines !== old.defines && (now.defines.size !== old.defines.size || [...now.defines].some((name) => !old.defines.has(name)))) return false;
  return true;
}

function sameArray<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((value, index) => value === b[index]);
}

const CHECKPOINT_SPACING = 256;

// A data row of an initializer: numbers, `{…}` of numbers, designators (`[i][j] =`, `.f =`), each with
// its comma. Such rows carry nothing the analysis uses, and blanking them spares tree-sitter the
// (re)parse of tables that run to hundreds of thousands of elements.
const NUMBER = String.raw`-?\d[\w.]*`;
const NUMBER_BRACES = String.raw`\{[ \t]*(?:${NUMBER}[ \t]*,[ \t]*)*(?:${NUMBER}[ \t]*)?\}`;
const DESIGNATOR = String.raw`(?:\[[\w \t+\-*]*\][ \t]*|\.[A-Za-z_]\w*[ \t]*)+=[ \t]*`;
const DATA_ELEMENT = String.raw`(?:${DESIGNATOR})?(?:${NUMBER}|${NUMBER_BRACES})`;
const DATA_ROW = new RegExp(String.raw`(?:${DATA_ELEMENT}[ \t]*,[ \t]*)*(${DATA_ELEMENT}[ \t]*)?(?:/\*(?:[^*\n]|\*(?!/))*\*/[ \t]*|//[^\n]*)?(?=\r?\n)`, 'y');

interface Convergence {
  /** Only positions past this may converge. */
  after: number;
  matches(at: number, state: NormalizerCheckpoint): boolean;
}

interface ScanResult {
  edits: Array<[number, number, string | null]>;
  calls: LexicalCall[];
  lockAnnotations: LockAnnotation[];
  statementMacros: StatementMacro[];
  inactiveRanges: Array<[number, number]>;
  dataRows: number[];
  checkpoints: NormalizerCheckpoint[];
  /** Where the state matched the old run's (incremental scans only). */
  convergedAt?: number;
  final: NormalizerCheckpoint;
}

/** The scanner: from `state` to the end of `source` (or to where `convergence` says the rest is known). */
function scan(source: string, env: PreprocessorEnv, from: NormalizerCheckpoint, convergence?: Convergence, recordCheckpoints = true): ScanResult {
  const state = from.state;
  const n = source.length;
  const wordFlags = wordFlagsFor(env);
  // Edits: sorted, non-overlapping [start, end, replacement|null]; null = blank (keep newlines).
  const edits: Array<[number, number, string | null]> = [];
  const lockAnnotations: LockAnnotation[] = [];
  const statementMacros: StatementMacro[] = [];
  const calls: LexicalCall[] = [];
  const checkpoints: NormalizerCheckpoint[] = [];
  const inactiveRanges: Array<[number, number]> = [];
  const dataRows: number[] = [];
  let horizon = from.horizon;
  /** The previous token was `.` or `->`: a following call is through a member. */
  let afterMember = state.afterMember;
  let defines = state.defines as Set<string>;
  /** `defines` is referenced by a checkpoint: copy before changing it. */
  let definesShared = true;
  const conditionals: ConditionalFrame[] = decodeConditionals(state.conditionals);
  let conditionalsCode = state.conditionals;
  const parenIsCall = [...state.parenIsCall];
  const initializerBraces = [...state.initializerBraces];
  let live = state.live;
  let inactiveStart = from.inactiveStart;
  let atLineStart = true;
  // The previous significant token: an identifier (`previousWord`, with previousIsIdent) or a punctuation
  // character (`previousChar`).
  let previousWord = state.previousWord;
  let previousChar = state.previousChar;
  let previousIsIdent = state.previousIsIdent;
  /** The previous identifier is a keyword whose `(` is not a call (`if (`, `sizeof (`). */
  let previousOpensNonCall = state.previousOpensNonCall;
  let inCaseLabel = state.inCaseLabel;
  let nextCheckpoint = recordCheckpoints ? from.pos + CHECKPOINT_SPACING : Infinity;

  const see = (offset: number) => {
    if (offset > horizon) horizon = offset;
  };
  const skipSpaceAndComments = (from: number): number => {
    let j = from;
    while (j < n) {
      const c = source.charCodeAt(j);
      if (c === Ch.Space || c === Ch.Tab || c === Ch.NL || c === Ch.CR || c === 12 || c === 11) j++;
      else if (c === Ch.Backslash && (source.charCodeAt(j + 1) === Ch.NL || source.charCodeAt(j + 1) === Ch.CR)) j += 2;
      else if (c === Ch.Slash && source.charCodeAt(j + 1) === Ch.Star) {
        const end = source.indexOf('*/', j + 2);
        j = end < 0 ? n : end + 2;
      } else if (c === Ch.Slash && source.charCodeAt(j + 1) === Ch.Slash) {
        const end = source.indexOf('\n', j);
        j = end < 0 ? n : end;
      } else break;
    }
    see(j);
    return j;
  };
  /** Index just past the `)` matching the `(` at `open`, skipping strings and comments; -1 if none. */
  const matchParen = (open: number): number => {
    let depth = 0;
    for (let j = open; j < n; j++) {
      const c = source.charCodeAt(j);
      if (c === Ch.LParen) depth++;
      else if (c === Ch.RParen) { if (--depth === 0) { see(j); return j + 1; } }
      else if (c === Ch.Quote || c === Ch.Apos) j = skipQuoted(j) - 1;
      else if (c === Ch.Slash && source.charCodeAt(j + 1) === Ch.Star) {
        const end = source.indexOf('*/', j + 2);
        j = end < 0 ? n : end + 1;
      } else if (c === Ch.Slash && source.charCodeAt(j + 1) === Ch.Slash) {
        const end = source.indexOf('\n', j);
        j = end < 0 ? n : end;
      } else if (c === Ch.Semi && depth <= 1 && j - open > 4096) { see(j); return -1; } // runaway: not an argument list
    }
    see(n);
    return -1;
  };
  /** Index after a string/char literal starting at `i` (stops at an unescaped newline). */
  const skipQuoted = (i: number): number => {
    const quote = source.charCodeAt(i);
    let j = i + 1;
    while (j < n) {
      const c = source.charCodeAt(j);
      if (c === Ch.Backslash) j += 2;
      else if (c === quote) return j + 1;
      else if (c === Ch.NL) return j;
      else j++;
    }
    return n;
  };
  /** End of a preprocessor logical line starting at `i` (continuations and block comments included). */
  const directiveEnd = (i: number): number => {
    let j = i;
    while (j < n) {
      const c = source.charCodeAt(j);
      if (c === Ch.NL) {
        let k = j - 1;
        if (source.charCodeAt(k) === Ch.CR) k--;
        if (source.charCodeAt(k) === Ch.Backslash) { j++; continue; }
        return j;
      }
      if (c === Ch.Slash && source.charCodeAt(j + 1) === Ch.Star) {
        const end = source.indexOf('*/', j + 2);
        j = end < 0 ? n : end + 2;
        continue;
      }
      j++;
    }
    return n;
  };
  /** End of a blankable data row starting at `i` (see DATA_ROW), or -1. */
  const dataRowEnd = (i: number): number => {
    DATA_ROW.lastIndex = i;
    const row = DATA_ROW.exec(source);
    const eol = source.indexOf('\n', i);
    see(eol < 0 ? n : eol);
    if (!row || row[0].length === 0) return -1;
    const end = i + row[0].length;
    // A last element without its comma must be the list's last.
    if (row[1] !== undefined && source.charCodeAt(skipSpaceAndComments(end)) !== Ch.RBrace) return -1;
    return end;
  };

  const setLive = (nowLive: boolean, at: number) => {
    if (live && !nowLive) inactiveStart = at;
    if (!live && nowLive && inactiveStart >= 0) {
      inactiveRanges.push([inactiveStart, at]);
      edits.push([inactiveStart, at, null]);
      inactiveStart = -1;
    }
    live = nowLive;
  };
  const changeDefines = (name: string, defined: boolean) => {
    if (defines.has(name) === defined) return;
    if (definesShared) {
      defines = new Set(defines);
      definesShared = false;
    }
    if (defined) defines.add(name);
    else defines.delete(name);
  };

  const handleDirective = (hashAt: number, end: number): boolean => {
    const m = /^#\s*(\w+)\s*([\s\S]*)$/.exec(source.slice(hashAt, end));
    if (!m) return false;
    const [, directive = '', rest = ''] = m;
    const body = rest.replace(/\\\r?\n/g, ' ');
    const decide = (condition: boolean | undefined, frame: ConditionalFrame) => {
      // Unknown conditions take the first branch that may be true: what a reader sees first.
      const take = frame.parentLive && !frame.chosen && condition !== false;
      frame.live = take;
      if (take) frame.chosen = true;
    };
    switch (directive) {
      case 'if': case 'ifdef': case 'ifndef': {
        const frame: ConditionalFrame = { parentLive: live, chosen: false, live: false };
        let condition: boolean | undefined;
        if (directive === 'if') condition = evaluateCondition(body, env, defines);
        else {
          const name = /^\w+/.exec(body.trim())?.[0] ?? '';
          const defined = evaluateCondition(`defined(${name})`, env, defines);
          condition = directive === 'ifdef' ? defined : defined === undefined ? (name.startsWith('CONFIG_') ? undefined : true) : !defined;
        }
        decide(condition, frame);
        conditionals.push(frame);
        conditionalsCode = '';
        edits.push([hashAt, end, null]);
        setLive(frame.live, end);
        return true;
      }
      case 'elif': case 'elifdef': case 'elifndef': case 'else': {
        const frame = conditionals[conditionals.length - 1];
        if (!frame) return false;
        if (live) setLive(false, hashAt);
        let condition: boolean | undefined = true;
        if (directive === 'elif') condition = evaluateCondition(body, env, defines);
        else if (directive !== 'else') {
          const defined = evaluateCondition(`defined(${/^\w+/.exec(body.trim())?.[0] ?? ''})`, env, defines);
          condition = directive === 'elifdef' ? defined : defined === undefined ? undefined : !defined;
        }
        decide(condition, frame);
        conditionalsCode = '';
        if (live) edits.push([hashAt, end, null]);
        setLive(frame.live, end);
        return true;
      }
      case 'endif': {
        const frame = conditionals.pop();
        if (!frame) return false;
        conditionalsCode = '';
        if (live) setLive(false, hashAt);
        setLive(frame.parentLive, hashAt);
        if (frame.parentLive) edits.push([hashAt, end, null]);
        return true;
      }
      case 'define': case 'undef': {
        if (!live) return false;
        const name = /^\w+/.exec(body)?.[0];
        if (name) changeDefines(name, directive === 'define');
        return false;
      }
      default:
        return false;
    }
  };


  let i = from.pos;
  let convergedAt: number | undefined;
  while (i < n) {
    const c = source.charCodeAt(i);
    if (c === Ch.NL) {
      atLineStart = true;
      i++;
      const converging = convergence !== undefined && i > convergence.after;
      if (converging || i >= nextCheckpoint) {
        if (conditionals.length === 0) conditionalsCode = '';
        else if (conditionalsCode === '') conditionalsCode = encodeConditionals(conditionals);
        definesShared = true;
        const now = checkpoint(i, horizon, inactiveStart, live, conditionalsCode, defines, parenIsCall, initializerBraces,
          previousWord, previousChar, previousIsIdent, previousOpensNonCall, inCaseLabel, afterMember);
        if (converging && convergence.matches(i, now)) { convergedAt = i; break; }
        if (i >= nextCheckpoint) { checkpoints.push(now); nextCheckpoint = i + CHECKPOINT_SPACING; }
      }
      continue;
    }
    if (c === Ch.Space || c === Ch.Tab || c === Ch.CR || c === 12 || c === 11) { i++; continue; }
    if (c === Ch.Hash && atLineStart) {
      const end = directiveEnd(i);
      handleDirective(i, end);
      i = end;
      continue;
    }
    if (!live) {
      // Inactive code is never lexed (it may hold unbalanced quotes): jump to the next line.
      atLineStart = false;
      const eol = source.indexOf('\n', i);
      i = eol < 0 ? n : eol;
      continue;
    }
    if (atLineStart && initializerBraces[initializerBraces.length - 1] && parenIsCall.length === 0 && startsDataRow(c)) {
      atLineStart = false;
      const end = dataRowEnd(i);
      if (end > 0) {
        edits.push([i, end, null]);
        dataRows.push(i, end);
        previousChar = Ch.Comma;
        previousIsIdent = false;
        afterMember = false;
        i = end;
        continue;
      }
    }
    atLineStart = false;
    if (c === Ch.Slash && source.charCodeAt(i + 1) === Ch.Star) {
      const end = source.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      continue;
    }
    if (c === Ch.Slash && source.charCodeAt(i + 1) === Ch.Slash) {
      const end = source.indexOf('\n', i);
      i = end < 0 ? n : end;
      continue;
    }
    if (c === Ch.Backslash) { i++; continue; }
    if (c === Ch.Quote || c === Ch.Apos) {
      i = skipQuoted(i);
      previousChar = Ch.Quote;
      previousIsIdent = false;
      continue;
    }
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentPart(source.charCodeAt(j))) j++;
      const word = source.slice(i, j);
      const flags = wordFlags.get(word) ?? 0;
      if (flags & BLANK) { edits.push([i, j, null]); i = j; continue; }
      const lockKind = flags & BLANK_WITH_ARGS ? LOCK_ANNOTATIONS[word] : undefined;
      if (flags & BLANK_WITH_ARGS) {
        const open = skipSpaceAndComments(j);
        if (source.charCodeAt(open) === Ch.LParen) {
          const close = matchParen(open);
          if (close > 0) {
            if (lockKind) lockAnnotations.push({ kind: lockKind, lockExpression: source.slice(open + 1, close - 1).trim(), offset: i });
            edits.push([i, close, null]);
            i = close;
            continue;
          }
        } else if (!lockKind) {
          edits.push([i, j, null]);
          i = j;
          continue;
        }
      }
      if (flags & CASE) inCaseLabel = true;
      if (atStatementStart(previousWord, previousChar, previousIsIdent) && (flags & ITERATOR || word.includes('for_each'))) {
        const open = skipSpaceAndComments(j);
        if (source.charCodeAt(open) === Ch.LParen) {
          const close = matchParen(open);
          const after = close > 0 ? skipSpaceAndComments(close) : -1;
          const next = after >= 0 ? source.charCodeAt(after) : Ch.Semi;
          if (close > 0 && next !== Ch.Semi && (next === Ch.LBrace || isIdentStart(next))) {
            edits.push([i, j, 'while'.padEnd(j - i, ' ')]);
            statementMacros.push({ name: word, offset: i, openParen: open, closeParen: close - 1 });
            previousWord = 'while';
            previousOpensNonCall = true;
            previousIsIdent = true;
            i = j;
            continue;
          }
        }
      }
      if (flags & TYPE_KEYWORD && parenIsCall[parenIsCall.length - 1]) {
        // `struct foo` followed by `,` or `)` (after optional `*`s) is a type passed to a macro.
        let k = skipSpaceAndComments(j);
        let m = k;
        while (m < n && isIdentPart(source.charCodeAt(m))) m++;
        if (m > k) {
          k = skipSpaceAndComments(m);
          while (source.charCodeAt(k) === Ch.Star) k = skipSpaceAndComments(k + 1);
          const follower = source.charCodeAt(k);
          if (follower === Ch.Comma || follower === Ch.RParen) edits.push([i, j, null]);
        }
      }
      let k = j;
      while (k < n && (source.charCodeAt(k) === Ch.Space || source.charCodeAt(k) === Ch.Tab)) k++;
      see(k);
      if (source.charCodeAt(k) === Ch.LParen && !(flags & NOT_CALL)) calls.push({ name: afterMember ? undefined : word, start: i, open: k });
      afterMember = false;
      previousWord = word;
      previousIsIdent = true;
      previousOpensNonCall = (flags & NOT_CALL_PAREN) !== 0;
      i = j;
      continue;
    }
    afterMember = (c === Ch.Dot && source.charCodeAt(i + 1) !== Ch.Dot) || (c === 62 && !previousIsIdent && previousChar === 45);
    if (c === Ch.LParen) {
      parenIsCall.push(previousIsIdent && !previousOpensNonCall);
    } else if (c === Ch.RParen) {
      parenIsCall.pop();
    } else if (c === Ch.Dot && inCaseLabel && source.startsWith('...', i)) {
      const colon = source.indexOf(':', i);
      const newline = source.indexOf('\n', i);
      see(newline < 0 ? n : newline);
      if (colon > 0 && (newline < 0 || colon < newline)) {
        edits.push([i, colon, null]);
        i = colon;
        continue;
      }
    } else if (c === Ch.Colon || c === Ch.Semi || c === Ch.LBrace || c === Ch.RBrace) {
      inCaseLabel = false;
      if (c !== Ch.Colon) parenIsCall.length = 0;
      if (c === Ch.LBrace) {
        const inInitializer = initializerBraces[initializerBraces.length - 1] === true;
        initializerBraces.push(!previousIsIdent && (previousChar === Ch.Eq || (inInitializer && (previousChar === Ch.LBrace || previousChar === Ch.Comma))));
      } else if (c === Ch.RBrace) initializerBraces.pop();
      else if (c === Ch.Semi) {
        // A `;` cannot be in an initializer list: the list was not one (or is broken); leave it.
        while (initializerBraces[initializerBraces.length - 1]) initializerBraces.pop();
      }
    }
    previousChar = c;
    previousIsIdent = false;
    i++;
  }
  if (convergedAt === undefined && !live && inactiveStart >= 0) {
    inactiveRanges.push([inactiveStart, n]);
    edits.push([inactiveStart, n, null]);
  }
  return {
    edits, calls, lockAnnotations, statementMacros, inactiveRanges: inactiveRanges.filter(([a, b]) => b > a), dataRows, checkpoints, convergedAt,
    final: checkpoint(convergedAt ?? n, horizon, inactiveStart, live, conditionals.length === 0 ? '' : encodeConditionals(conditionals), defines, parenIsCall, initializerBraces,
      previousWord, previousChar, previousIsIdent, previousOpensNonCall, inCaseLabel, afterMember),
  };
}

const EMPTY: boolean[] = [];

/** A checkpoint from the scanner's variables (a function of its own: a closure would move the loop's hot variables to the heap). */
function checkpoint(
  pos: number, horizon: number, inactiveStart: number, live: boolean, conditionals: string, defines: ReadonlySet<string>, parenIsCall: boolean[],
  initializerBraces: boolean[], previousWord: string, previousChar: number, previousIsIdent: boolean, previousOpensNonCall: boolean,
  inCaseLabel: boolean, afterMember: boolean,
): NormalizerCheckpoint {
  return {
    pos, horizon, inactiveStart,
    state: {
      live, conditionals, defines,
      parenIsCall: parenIsCall.length > 0 ? [...parenIsCall] : EMPTY, initializerBraces: initializerBraces.length > 0 ? [...initializerBraces] : EMPTY,
      previousWord, previousChar, previousIsIdent, previousOpensNonCall, inCaseLabel, afterMember,
    },
  };
}

/** Can a data row (see DATA_ROW) start with this character? */
function startsDataRow(c: number): boolean {
  return (c >= 48 && c <= 57) || c === Ch.LBrace || c === 45 || c === 91 || c === Ch.Dot;
}

function encodeConditionals(frames: readonly ConditionalFrame[]): string {
  return frames.map((f) => String.fromCharCode(48 + (f.parentLive ? 1 : 0) + (f.chosen ? 2 : 0) + (f.live ? 4 : 0))).join('');
}

function decodeConditionals(code: string): ConditionalFrame[] {
  return [...code].map((ch) => {
    const bits = ch.charCodeAt(0) - 48;
    return { parentLive: (bits & 1) !== 0, chosen: (bits & 2) !== 0, live: (bits & 4) !== 0 };
  });
}

function atStatementStart(previousWord: string, previousChar: number, previousIsIdent: boolean): boolean {
  if (previousIsIdent) return previousWord === 'else' || previousWord === 'do';
  return previousChar === Ch.Semi || previousChar === Ch.LBrace || previousChar === Ch.RBrace || previousChar === Ch.RParen || previousChar === Ch.Colon;
}

function blank(text: string): string {
  return text.replace(/[^\n\r]/g, ' ');
}

function applyEdits(source: string, edits: Array<[number, number, string | null]>): string {
  if (edits.length === 0) return source;
  edits.sort((a, b) => a[0] - b[0]);
  const parts: string[] = [];
  let cursor = 0;
  for (const [start, end, replacement] of edits) {
    if (end <= cursor) continue;
    const from = Math.max(start, cursor);
    parts.push(source.slice(cursor, from));
    parts.push(replacement !== null && from === start ? replacement : blank(source.slice(from, end)));
    cursor = end;
  }
  parts.push(source.slice(cursor));
  return parts.join('');
}
