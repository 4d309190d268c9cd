// The one tree-sitter parser of LKM Dev: web-tree-sitter (WASM) with the tree-sitter-c grammar shipped in
// the tree-sitter-c package, so the extension host, the CLI and the tests use one artifact everywhere.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Language, Parser, type Point, type Range, type Tree } from 'web-tree-sitter';
import { dataRuns, type NormalizedSource } from './normalize';

let ready: Promise<Parser> | undefined;

/** Finds a wasm file next to the bundle (out/server) or, when running from sources, in node_modules. */
function locate(fileName: string, packageSpecifier: string): string {
  const besideBundle = path.join(__dirname, fileName);
  if (fs.existsSync(besideBundle)) return besideBundle;
  return require.resolve(packageSpecifier);
}

export function getParser(): Promise<Parser> {
  ready ??= (async () => {
    const runtimeWasm = locate('web-tree-sitter.wasm', 'web-tree-sitter/web-tree-sitter.wasm');
    await Parser.init({ locateFile: () => runtimeWasm });
    const language = await Language.load(locate('tree-sitter-c.wasm', 'tree-sitter-c/tree-sitter-c.wasm'));
    const parser = new Parser();
    parser.setLanguage(language);
    return parser;
  })();
  return ready;
}

/**
 * Parses normalised text (see normalize.ts), leaving out its long runs of blanked data rows;
 * `oldTree` must have been `edit()`ed to match.
 */
export function parseWith(parser: Parser, normalized: NormalizedSource, oldTree?: Tree): Tree {
  const skipped = dataRuns(normalized);
  // Line starts only when a range needs a position: computing them is a pass over the text.
  const options = skipped.length > 0 ? { includedRanges: includedRanges(normalized.text, skipped, normalized.lineStarts) } : undefined;
  const tree = parser.parse(normalized.text, oldTree ?? null, options);
  if (!tree) throw new Error('tree-sitter returned no tree (parse cancelled)');
  return tree;
}

/** The complement of `skipped` in `text`, as tree-sitter ranges. */
function includedRanges(text: string, skipped: Array<[number, number]>, lineStarts: readonly number[]): Range[] {
  let line = 0;
  const pointAt = (index: number): Point => {
    // Offsets only grow: walk the line starts forward.
    while (line + 1 < lineStarts.length && lineStarts[line + 1]! <= index) line++;
    return { row: line, column: index - (lineStarts[line] ?? 0) };
  };
  const ranges: Range[] = [];
  let from = 0;
  let fromPoint: Point = { row: 0, column: 0 };
  for (const [start, end] of skipped) {
    ranges.push({ startIndex: from, endIndex: start, startPosition: fromPoint, endPosition: pointAt(start) });
    from = end;
    fromPoint = pointAt(end);
  }
  ranges.push({ startIndex: from, endIndex: text.length, startPosition: fromPoint, endPosition: pointAt(text.length) });
  return ranges;
}
