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

const enum Ch {
  Tab = 9, NL = 10, CR = 13, Space = 32, Quote = 34, Hash = 35, Apos = 39, LParen = 40, RParen = 41,
  Star = 42, Comma = 44, Dot = 46, Slash = 47, Colon = 58, Semi = 59, Backslash = 92, LBrace = 123,
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

export function normalize(source: string, env: PreprocessorEnv = {}): NormalizedSource {
  const n = source.length;
  // Edits: sorted, non-overlapping [start, end, replacement|null]; null = blank (keep newlines).
  const edits: Array<[number, number, string | null]> = [];
  const lockAnnotations: LockAnnotation[] = [];
  const statementMacros = new Map<number, StatementMacro>();
  const calls: LexicalCall[] = [];
  /** The previous token was `.` or `->`: a following call is through a member. */
  let afterMember = false;
  const inactiveRanges: Array<[number, number]> = [];
  const defines = new Set<string>();
  const conditionals: ConditionalFrame[] = [];
  const parenIsCall: boolean[] = [];
  let live = true;
  let inactiveStart = -1;
  let atLineStart = true;
  // The previous significant token: an identifier (`previousWord`, with previousIsIdent) or a punctuation
  // character (`previousChar`).
  let previousWord = '';
  let previousChar: number = Ch.Semi;
  let previousIsIdent = false;
  /** The previous identifier is a keyword whose `(` is not a call (`if (`, `sizeof (`). */
  let previousOpensNonCall = false;
  let inCaseLabel = false;

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
    return j;
  };
  /** Index just past the `)` matching the `(` at `open`, skipping strings and comments; -1 if none. */
  const matchParen = (open: number, limit: number): number => {
    let depth = 0;
    for (let j = open; j < limit; j++) {
      const c = source.charCodeAt(j);
      if (c === Ch.LParen) depth++;
      else if (c === Ch.RParen) { if (--depth === 0) return j + 1; }
      else if (c === Ch.Quote || c === Ch.Apos) j = skipQuoted(j) - 1;
      else if (c === Ch.Slash && source.charCodeAt(j + 1) === Ch.Star) {
        const end = source.indexOf('*/', j + 2);
        j = end < 0 ? limit : end + 1;
      } else if (c === Ch.Slash && source.charCodeAt(j + 1) === Ch.Slash) {
        const end = source.indexOf('\n', j);
        j = end < 0 ? limit : end;
      } else if (c === Ch.Semi && depth <= 1 && j - open > 4096) return -1; // runaway: not an argument list
    }
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

  const setLive = (nowLive: boolean, at: number) => {
    if (live && !nowLive) inactiveStart = at;
    if (!live && nowLive && inactiveStart >= 0) {
      inactiveRanges.push([inactiveStart, at]);
      edits.push([inactiveStart, at, null]);
      inactiveStart = -1;
    }
    live = nowLive;
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
        if (live) edits.push([hashAt, end, null]);
        setLive(frame.live, end);
        return true;
      }
      case 'endif': {
        const frame = conditionals.pop();
        if (!frame) return false;
        if (live) setLive(false, hashAt);
        setLive(frame.parentLive, hashAt);
        if (frame.parentLive) edits.push([hashAt, end, null]);
        return true;
      }
      case 'define': case 'undef': {
        if (!live) return false;
        const name = /^\w+/.exec(body)?.[0];
        if (name) (directive === 'define' ? defines.add(name) : defines.delete(name));
        return false;
      }
      default:
        return false;
    }
  };

  let i = 0;
  while (i < n) {
    const c = source.charCodeAt(i);
    if (c === Ch.NL) { atLineStart = true; i++; continue; }
    if (c === Ch.Space || c === Ch.Tab || c === Ch.CR || c === 12 || c === 11) { i++; continue; }
    if (c === Ch.Hash && atLineStart) {
      const end = directiveEnd(i);
      handleDirective(i, end);
      i = end;
      continue;
    }
    atLineStart = false;
    if (!live) {
      // Inactive code is never lexed (it may hold unbalanced quotes): jump to the next line.
      const eol = source.indexOf('\n', i);
      i = eol < 0 ? n : eol;
      continue;
    }
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
      const flags = WORD_FLAGS.get(word) ?? 0;
      if (flags & BLANK) { edits.push([i, j, null]); i = j; continue; }
      const lockKind = flags & BLANK_WITH_ARGS ? LOCK_ANNOTATIONS[word] : undefined;
      if (flags & BLANK_WITH_ARGS) {
        const open = skipSpaceAndComments(j);
        if (source.charCodeAt(open) === Ch.LParen) {
          const close = matchParen(open, n);
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
          const close = matchParen(open, n);
          const after = close > 0 ? skipSpaceAndComments(close) : -1;
          const next = after >= 0 ? source.charCodeAt(after) : Ch.Semi;
          if (close > 0 && next !== Ch.Semi && (next === Ch.LBrace || isIdentStart(next))) {
            edits.push([i, j, 'while'.padEnd(j - i, ' ')]);
            statementMacros.set(i, { name: word, offset: i, openParen: open, closeParen: close - 1 });
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
      if (colon > 0 && (newline < 0 || colon < newline)) {
        edits.push([i, colon, null]);
        i = colon;
        continue;
      }
    } else if (c === Ch.Colon || c === Ch.Semi || c === Ch.LBrace || c === Ch.RBrace) {
      inCaseLabel = false;
      if (c !== Ch.Colon) parenIsCall.length = 0;
    }
    previousChar = c;
    previousIsIdent = false;
    i++;
  }
  if (!live && inactiveStart >= 0) {
    inactiveRanges.push([inactiveStart, n]);
    edits.push([inactiveStart, n, null]);
  }
  return { text: applyEdits(source, edits), calls, lockAnnotations, statementMacros, inactiveRanges: inactiveRanges.filter(([a, b]) => b > a) };
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
