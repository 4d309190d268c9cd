// Findings as the editor shows them: diagnostics (plain text, a link to the rule's page) and the quick
// fixes offered on them, the rule's own fixes and "disable for this line".
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CodeActionKind, DiagnosticSeverity, type CodeAction, type Diagnostic } from 'vscode-languageserver/node';
import type { Finding, Fix, Severity } from '../analysis/model';
import { ruleById } from '../rules';

const SEVERITY: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  info: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

/**
 * Rules write code in messages between backticks (markdown, as `lkm-lint` prints it). VS Code shows a
 * diagnostic's message as plain text in Problems and in the hover, so there code is set in the quotes
 * gcc uses for identifiers in its own messages (‘kmalloc’).
 */
export function plainQuotes(message: string): string {
  return message.replace(/`([^`\n]+)`/g, '‘$1’');
}

/**
 * The rule's page (docs/rules/<id>.md) as a file URI, when it is there: the bundle lives in out/server,
 * two folders below the extension (or repository) root, and the .vsix carries docs/rules.
 */
export function ruleDocsUri(rule: string, root = path.resolve(__dirname, '..', '..')): string | undefined {
  const page = path.join(root, 'docs', 'rules', `${rule}.md`);
  return existsSync(page) ? pathToFileURL(page).href : undefined;
}

const docsUris = new Map<string, string | undefined>();

export function toDiagnostic(finding: Finding): Diagnostic {
  if (!docsUris.has(finding.rule)) docsUris.set(finding.rule, ruleById(finding.rule) ? ruleDocsUri(finding.rule) : undefined);
  const href = docsUris.get(finding.rule);
  return {
    range: finding.range,
    severity: SEVERITY[finding.severity],
    source: 'lkm',
    code: finding.rule,
    message: plainQuotes(finding.message),
    ...(href ? { codeDescription: { href } } : {}),
    relatedInformation: finding.related?.map((r) => ({ location: { uri: pathToFileURL(r.location.file).href, range: r.location.range }, message: plainQuotes(r.message) })),
  };
}

/**
 * For the hover over a finding (VS Code shows the diagnostic's own message above it, as plain text):
 * each rule found there, what it checks, its page and how to silence it, in markdown.
 */
export function rulesHover(findings: Finding[], at: { line: number; character: number }): string | undefined {
  const inside = (f: Finding) => !before(at, f.range.start) && !before(f.range.end, at);
  const rules = [...new Set(findings.filter(inside).map((f) => f.rule))];
  const parts = rules.map((id) => {
    const rule = ruleById(id);
    if (!rule) return undefined;
    const href = ruleDocsUri(id);
    return `**${id}** — ${rule.docs.summary}${href ? ` [Rule page](${href})` : ''}  \nSilence this one: \`// lkm-lint-disable-next-line ${id}\` on the line above.`;
  }).filter((p): p is string => p !== undefined);
  return parts.length ? parts.join('\n\n') : undefined;
}

function before(p: { line: number; character: number }, q: { line: number; character: number }): boolean {
  return p.line < q.line || (p.line === q.line && p.character < q.character);
}

/**
 * `// lkm-lint-disable-next-line <rule>` above the finding's line, indented as that line. Inside a
 * macro body (the line above ends in a backslash) a line comment would end the macro, so the
 * suppression is a block comment continued with a backslash: the linter reads both.
 */
export function disableLineFix(finding: Finding, lineText: (line: number) => string | undefined): Fix | undefined {
  const line = finding.range.start.line;
  const text = lineText(line);
  if (text === undefined) return undefined;
  const indent = /^[ \t]*/.exec(text)![0];
  const inMacro = /\\\s*$/.test(lineText(line - 1) ?? '');
  const comment = inMacro ? `/* lkm-lint-disable-next-line ${finding.rule} */ \\` : `// lkm-lint-disable-next-line ${finding.rule}`;
  const at = { line, character: 0 };
  return { title: `Disable ${finding.rule} for this line`, edits: [{ file: finding.file, range: { start: at, end: at }, newText: `${indent}${comment}\n` }] };
}

/** The quick fixes of one finding: the rule's own first, then disabling it for its line. */
export function codeActionsFor(finding: Finding, lineText: (line: number) => string | undefined): CodeAction[] {
  const diagnostic = toDiagnostic(finding);
  const disable = disableLineFix(finding, lineText);
  return [...(finding.fixes ?? []), ...(disable ? [disable] : [])].map((fix) => {
    const changes: Record<string, Array<{ range: Finding['range']; newText: string }>> = {};
    for (const edit of fix.edits) (changes[pathToFileURL(edit.file).href] ??= []).push({ range: edit.range, newText: edit.newText });
    return { title: fix.title, kind: CodeActionKind.QuickFix, diagnostics: [diagnostic], ...(fix.preferred ? { isPreferred: true } : {}), edit: { changes } };
  });
}
