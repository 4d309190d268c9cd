// One walk of a file's tree collects every node kind the analysis needs (a `descendantsOfType` walk
// costs ~15% of a parse, so each extra walk would be felt on a whole-tree lint); later passes look
// nodes up by position instead of walking again.
import type { Node } from 'web-tree-sitter';
import type { ParsedFile } from './model';

export interface NodeIndex {
  functionDefinitions: Node[];
  /** All sorted by start offset (document order). */
  calls: Node[];
  assignments: Node[];
  updates: Node[];
  initializerPairs: Node[];
}

const KINDS = ['function_definition', 'call_expression', 'assignment_expression', 'update_expression', 'initializer_pair'];
const cache = new WeakMap<ParsedFile, NodeIndex>();

export function nodeIndex(file: ParsedFile): NodeIndex {
  let index = cache.get(file);
  if (index) return index;
  index = { functionDefinitions: [], calls: [], assignments: [], updates: [], initializerPairs: [] };
  for (const node of file.tree.rootNode.descendantsOfType(KINDS)) {
    if (!node) continue;
    switch (node.type) {
      case 'function_definition': index.functionDefinitions.push(node); break;
      case 'call_expression': index.calls.push(node); break;
      case 'assignment_expression': index.assignments.push(node); break;
      case 'update_expression': index.updates.push(node); break;
      default: index.initializerPairs.push(node);
    }
  }
  cache.set(file, index);
  return index;
}

/** The nodes of a sorted list that lie within [start, end). */
export function nodesWithin(sorted: readonly Node[], start: number, end: number): Node[] {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]!.startIndex < start) lo = mid + 1;
    else hi = mid;
  }
  const result: Node[] = [];
  for (let i = lo; i < sorted.length && sorted[i]!.startIndex < end; i++) {
    if (sorted[i]!.endIndex <= end) result.push(sorted[i]!);
  }
  return result;
}
