// Where module-level macros (`MODULE_LICENSE`, `MODULE_IMPORT_NS`…) go in a module's files, shared by the
// rules that add them as fixes and report their absence.
import type { Position, Range, TextEdit } from '../analysis/model';
import type { AnalyzedFile } from './rule';

const MODULE_LINE_MACRO = /^(?:MODULE_[A-Z_]+|module_init|module_exit|module_\w+_driver)$/;

/** The file that holds the module's init/exit or MODULE_* lines (else the first file). */
export function mainFileOf(files: readonly AnalyzedFile[]): AnalyzedFile | undefined {
  return files.find((file) => file.symbols.license ?? file.symbols.unresolvedLicense)
    ?? files.find((file) => file.symbols.references.some((ref) => MODULE_LINE_MACRO.test(ref.name)))
    ?? files[0];
}

/** The line of the last module-level macro (`MODULE_AUTHOR(…)`, `module_init(…)`…) of a file, if any. */
export function lastModuleMacroLine(file: AnalyzedFile): number | undefined {
  let last: number | undefined;
  for (const ref of file.symbols.references) {
    if (MODULE_LINE_MACRO.test(ref.name) && (last === undefined || ref.range.start.line > last)) last = ref.range.start.line;
  }
  for (const range of [file.symbols.license?.range, file.symbols.description?.range]) {
    if (range && (last === undefined || range.end.line > last)) last = range.end.line;
  }
  return last;
}

/** An edit adding `line` after the last module-level macro line of the file, or at its end. */
export function insertModuleLine(file: AnalyzedFile, line: string): TextEdit {
  const text = file.parsed.text;
  const after = lastModuleMacroLine(file);
  const lineCount = text.split('\n').length;
  if (after !== undefined && after + 1 < lineCount) {
    return { file: file.parsed.path, range: emptyRange({ line: after + 1, character: 0 }), newText: `${line}\n` };
  }
  // At the end of the file, on a line of its own.
  const lastLine = lineCount - 1;
  const lastLineLength = text.length - (text.lastIndexOf('\n') + 1);
  const end = { line: lastLine, character: lastLineLength };
  return { file: file.parsed.path, range: emptyRange(end), newText: lastLineLength === 0 ? `${line}\n` : `\n${line}\n` };
}

/** Where a finding about the module as a whole goes: the whole line of the file's last module-level macro (else line 1). */
export function moduleAnchor(file: AnalyzedFile): Range {
  const line = lastModuleMacroLine(file) ?? 0;
  return { start: { line, character: 0 }, end: { line, character: lineLength(file.parsed.text, line) } };
}

function lineLength(text: string, line: number): number {
  let start = 0;
  for (let i = 0; i < line; i++) {
    const next = text.indexOf('\n', start);
    if (next < 0) return 0;
    start = next + 1;
  }
  const end = text.indexOf('\n', start);
  return (end < 0 ? text.length : end) - start;
}

function emptyRange(position: Position) {
  return { start: position, end: position };
}
