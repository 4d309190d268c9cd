// The analysis pipeline shared by the language server, the CLI and the tests:
// text → normalise → parse → per-file facts (symbols, functions) → module call graph → rules → findings.
import type { Parser, Tree } from 'web-tree-sitter';
import { ModuleCallGraph } from './analysis/callGraph';
import { analyzeFunctions } from './analysis/functionAnalysis';
import { headerSleepingApis, headerStructs } from './analysis/headerSleep';
import { applyLockSummaries, type SummaryMemo } from './analysis/lockSummaries';
import type { KernelTarget } from './analysis/kernelTarget';
import { macroPresenceFor } from './analysis/macroScope';
import type { ModuleSpec } from './analysis/kbuild';
import type { Finding, ParsedFile, Severity } from './analysis/model';
import { extractSymbols, updateSymbols } from './analysis/symbols';
import { normalize, type NormalizedSource, type TextChange } from './parsing/normalize';
import { getParser, parseWith } from './parsing/parser';
import type { PreprocessorEnv } from './parsing/preprocessor';
import { RULES } from './rules';
import type { AnalyzedFile, ModuleContext, WorkspaceSymbolIndex } from './rules/rule';
import { FileRefused, MAX_FILE_BYTES, readTextFileBounded } from './sources';

export type SeveritySetting = Severity | 'off';

export interface LintSettings {
  /** Per-rule severity overrides. */
  severity?: Readonly<Record<string, SeveritySetting>>;
}

/** Files larger than this are not linted (a clear note instead): generated tables, firmware blobs. */
export { MAX_FILE_BYTES };

export class SourceRejected extends Error {}

/** Reads a source file as text, refusing what is not a regular file, oversized and binary files with a clear reason. */
export function readSource(path: string): string {
  const text = readTextFileBounded(path, MAX_FILE_BYTES);
  if (text instanceof FileRefused) throw new SourceRejected(`not linted: ${text.reason}`);
  const binary = binaryReason(text);
  if (binary) throw new SourceRejected(binary);
  return text;
}

/** Why `text` is not linted as C when it is binary (NUL bytes near the start). */
export function binaryReason(text: string): string | undefined {
  return text.slice(0, 8192).includes('\0') ? 'not linted: binary file (contains NUL bytes)' : undefined;
}

/** What `#if` conditions of `file` are decided by: the target's version and configuration, the macros its compilation may see. */
export function preprocessorEnv(target: KernelTarget | undefined, file: string, text: string): PreprocessorEnv {
  return { versionCode: target?.versionCode, config: target?.config, macroPresence: macroPresenceFor(file, text, target), annotations: target?.headers.annotations };
}

export class Analyzer {
  private constructor(private readonly parser: Parser, private readonly incremental: boolean) {}

  /** `incremental`: files will be edited and re-analysed (`reanalyze`): keep what resuming needs. */
  static async create({ incremental = false } = {}): Promise<Analyzer> {
    return new Analyzer(await getParser(), incremental);
  }

  /** Parses `text`; with `previous` (already `edit()`ed to match), re-parses incrementally. */
  parse(path: string, text: string, env: PreprocessorEnv, previous?: Tree): ParsedFile {
    return this.parseNormalized(path, text, normalize(text, env, { resumable: this.incremental }), previous);
  }

  parseNormalized(path: string, text: string, normalized: NormalizedSource, previous?: Tree): ParsedFile {
    return { path, text, normalized, tree: parseWith(this.parser, normalized, previous) };
  }

  analyze(parsed: ParsedFile): AnalyzedFile {
    return { parsed, symbols: extractSymbols(parsed), functions: analyzeFunctions(parsed) };
  }

  /** `analyze` after an edit that changed the normalised text only inside `window` (new coordinates). */
  reanalyze(previous: AnalyzedFile, parsed: ParsedFile, window: TextChange): AnalyzedFile {
    return { parsed, symbols: updateSymbols(previous.symbols, parsed, window), functions: analyzeFunctions(parsed) };
  }

  /** `memo`: for re-lints of the same module after an edit (see lockSummaries.ts SummaryMemo). */
  lintModule(module: ModuleSpec, files: AnalyzedFile[], target: KernelTarget | undefined, workspace: WorkspaceSymbolIndex, settings: LintSettings = {}, memo?: SummaryMemo): Finding[] {
    const analyses = files.map((f) => ({ parsed: f.parsed, functions: f.functions }));
    applyLockSummaries(analyses, memo);
    const context: ModuleContext = { module, files, callGraph: new ModuleCallGraph(analyses, target && headerSleepingApis(target), target && headerStructs(target)), target, workspace };
    const findings: Finding[] = [];
    for (const rule of RULES) {
      const severity = settings.severity?.[rule.id] ?? rule.defaultSeverity;
      if (severity === 'off') continue;
      try {
        rule.check(context, (report) => {
          const configured = settings.severity?.[rule.id];
          findings.push({ ...report, rule: rule.id, severity: configured && configured !== 'off' ? configured : report.severity ?? severity });
        });
      } catch (error) {
        // A rule failing on odd code must not take the others (or the server) down.
        findings.push(internalError(module, rule.id, error));
      }
    }
    const texts = new Map(files.map((f) => [f.parsed.path, f.parsed.text]));
    return dedupe(findings.filter((f) => !isSuppressed(f, texts.get(f.file))));
  }
}

function internalError(module: ModuleSpec, rule: string, error: unknown): Finding {
  const message = error instanceof Error ? error.message : String(error);
  return {
    rule,
    severity: 'info',
    file: module.files[0] ?? module.dir,
    range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
    message: `lkm-lint: rule ${rule} could not analyse this module (${message}); other rules still ran.`,
  };
}

function dedupe(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.file}:${f.range.start.line}:${f.range.start.character}:${f.rule}:${f.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

const SUPPRESS_NEXT_LINE = /lkm-lint-disable-next-line\b([^\n*]*)/;
const SUPPRESS_LINE = /lkm-lint-disable-line\b([^\n*]*)/;

/** `// lkm-lint-disable-next-line rule-a, rule-b` (no rule: all rules) on the line above, or `-line` on it. */
export function isSuppressed(finding: Finding, text: string | undefined): boolean {
  if (!text) return false;
  const lines = lineAt(text, finding.range.start.line - 1, 2);
  const matches = (match: RegExpExecArray | null) => {
    if (!match) return false;
    const rules = match[1]!.split(/[\s,]+/).filter((r) => /^[a-z][a-z-]+$/.test(r));
    return rules.length === 0 || rules.includes(finding.rule);
  };
  return matches(SUPPRESS_NEXT_LINE.exec(lines[0] ?? '')) || matches(SUPPRESS_LINE.exec(lines[1] ?? ''));
}

function lineAt(text: string, line: number, count: number): string[] {
  const result: string[] = [];
  let offset = 0;
  for (let current = 0; current < line + count && offset <= text.length; current++) {
    const end = text.indexOf('\n', offset);
    const content = text.slice(offset, end < 0 ? text.length : end);
    if (current >= line) result.push(content);
    if (end < 0) break;
    offset = end + 1;
  }
  while (result.length < count) result.unshift('');
  return line < 0 ? ['', result[result.length - 1] ?? ''] : result;
}

const COMMENTS_AND_DIRECTIVES = /\/\*[\s\S]*?\*\/|\/\/[^\n]*|^[ \t]*#(?:[^\n\\]|\\[\s\S])*/gm;
const FUNCTION_DEFINITION = /(?:^|[;}])\s*((?:[A-Za-z_]\w*[\s*]+)+?)([A-Za-z_]\w*)\s*\((?:[^;{}()]|\([^;{}()]*\))*\)\s*\{/g;
const NOT_FUNCTION_NAMES = new Set(['if', 'for', 'while', 'switch', 'return', 'sizeof', 'else', 'do']);

/** Where non-static functions are defined across modules, from a cheap text scan. */
export class TextWorkspaceIndex implements WorkspaceSymbolIndex {
  private readonly definitions = new Map<string, Array<{ module: string; file: string; exported: boolean; gplOnly: boolean; builtIn: boolean }>>();

  /** `builtIn`: the module links into the kernel image (see kbuild.ts isBuiltIn). */
  addModuleFile(module: string, file: string, text: string, builtIn = false): void {
    const exports = new Map<string, boolean>();
    for (const match of text.matchAll(/\bEXPORT_SYMBOL(_NS)?(_GPL)?\s*\(\s*([A-Za-z_]\w*)/g)) exports.set(match[3]!, !!match[2]);
    // Definitions in code only: comments and preprocessor lines (a multi-line #define's body looks like
    // code) are blanked first; a definition follows a `;` or `}` (or the file's start) so that a macro
    // call without `;` (`module_exit(x)`) cannot pass for the head of the next function.
    const code = text.replace(COMMENTS_AND_DIRECTIVES, (m) => m.replace(/[^\n]/g, ' '));
    for (const match of code.matchAll(FUNCTION_DEFINITION)) {
      const specifiers = match[1]!;
      const name = match[2]!;
      if (/\bstatic\b/.test(specifiers) || NOT_FUNCTION_NAMES.has(name)) continue;
      const list = this.definitions.get(name) ?? [];
      list.push({ module, file, exported: exports.has(name), gplOnly: exports.get(name) ?? false, builtIn });
      this.definitions.set(name, list);
    }
  }

  definitionsOf(name: string) {
    return this.definitions.get(name) ?? [];
  }

  /** Plain data, for worker threads. */
  entries(): Array<[string, ReturnType<WorkspaceSymbolIndex['definitionsOf']>]> {
    return [...this.definitions];
  }
}
