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
