// The server's text documents: vscode-languageserver-textdocument's, with every edit's range clamped to
// the document first. That library clamps the offsets it splices the text at, but indexes its line
// table with the range's own line numbers: one edit spanning lines 1,000,000–1,000,001 leaves a
// million-entry table with holes, which every later edit walks (500 small edits then take 18 s). A
// client may send any position; only positions inside the document reach the library.
import type { TextDocumentContentChangeEvent, TextDocumentsConfiguration } from 'vscode-languageserver';
import { TextDocument, type Position, type Range } from 'vscode-languageserver-textdocument';

export const ClampedTextDocument: TextDocumentsConfiguration<TextDocument> = {
  create: TextDocument.create,
  update(document, changes, version) {
    // One at a time: each change's positions refer to the text left by the previous one.
    for (const change of changes) TextDocument.update(document, [clampChange(document, change)], version);
    return document;
  },
};

/** `change` with its range (if any) moved inside `document`: past the end is the end, before the start the start. */
export function clampChange(document: TextDocument, change: TextDocumentContentChangeEvent): TextDocumentContentChangeEvent {
  if (!('range' in change) || !change.range) return { text: change.text };
  return { range: clampRange(document, change.range), text: change.text };
}

function clampRange(document: TextDocument, range: Range): Range {
  return { start: clampPosition(document, range.start), end: clampPosition(document, range.end) };
}

function clampPosition(document: TextDocument, position: Position): Position {
  const whole = (n: number) => (Number.isFinite(n) ? Math.max(0, Math.floor(n)) : 0);
  // offsetAt clamps a line past the end to the end and a character past the line to its end.
  return document.positionAt(document.offsetAt({ line: whole(position.line), character: whole(position.character) }));
}
