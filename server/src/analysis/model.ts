// The shapes that flow from parsing through analysis to the rules. Positions are 0-based line and
// UTF-16 character (LSP's convention); the CLI adds 1 when printing.
import type { Node, Tree } from 'web-tree-sitter';
import type { NormalizedSource } from '../parsing/normalize';

export interface Position { line: number; character: number }
export interface Range { start: Position; end: Position }
export interface Location { file: string; range: Range }

export type Severity = 'error' | 'warning' | 'info' | 'hint';

export interface TextEdit { file: string; range: Range; newText: string }
export interface Fix { title: string; edits: TextEdit[]; preferred?: boolean }

export interface Finding {
  rule: string;
  severity: Severity;
  message: string;
  file: string;
  range: Range;
  related?: Array<{ location: Location; message: string }>;
  fixes?: Fix[];
}

/** One parsed source file. The tree is over `normalized.text`, which has the same length as `text`. */
export interface ParsedFile {
  path: string;
  text: string;
  normalized: NormalizedSource;
  tree: Tree;
}

export function rangeOf(node: Node): Range {
  return {
    start: { line: node.startPosition.row, character: node.startPosition.column },
    end: { line: node.endPosition.row, character: node.endPosition.column },
  };
}

const lineStartsCache = new WeakMap<object, number[]>();

/** Offsets where each line of `text` starts (kept by the normaliser for parsed files, else cached). */
function lineStarts(file: { text: string; normalized?: { lineStarts: number[] } }): number[] {
  if (file.normalized) return file.normalized.lineStarts;
  let starts = lineStartsCache.get(file);
  if (!starts) {
    starts = [0];
    for (let i = file.text.indexOf('\n'); i >= 0; i = file.text.indexOf('\n', i + 1)) starts.push(i + 1);
    lineStartsCache.set(file, starts);
  }
  return starts;
}

export function positionAt(file: { text: string; normalized?: { lineStarts: number[] } }, offset: number): Position {
  const starts = lineStarts(file);
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo, character: offset - starts[lo]! };
}

export function rangeAt(file: { text: string; normalized?: { lineStarts: number[] } }, start: number, end: number): Range {
  return { start: positionAt(file, start), end: positionAt(file, end) };
}

/** Index of the first item whose start (by `startOf`) is at or after `offset`, in a list sorted by start. */
export function firstStartingAt<T>(sorted: readonly T[], offset: number, startOf: (item: T) => number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (startOf(sorted[mid]!) < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
