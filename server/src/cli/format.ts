// Output formats of lkm-lint: GCC-style text, a JSON array, and SARIF 2.1.0 for code scanning.
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Sarif from 'sarif';
import type { Finding } from '../analysis/model';
import { RULES } from '../rules';

export type OutputFormat = 'text' | 'json' | 'sarif';

export interface JsonFinding {
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  rule: string;
  severity: string;
  message: string;
}

/** 1-based positions; the end column is the column just past the range, as in SARIF. */
export function toJson(finding: Finding, cwd: string): JsonFinding {
  return {
    file: path.relative(cwd, finding.file) || finding.file,
    line: finding.range.start.line + 1,
    column: finding.range.start.character + 1,
    endLine: finding.range.end.line + 1,
    endColumn: finding.range.end.character + 1,
    rule: finding.rule,
    severity: finding.severity,
    message: finding.message,
  };
}

export function formatText(findings: readonly Finding[], cwd: string): string {
  return findings
    .map((f) => {
      const j = toJson(f, cwd);
      return `${j.file}:${j.line}:${j.column}: ${j.severity}: ${j.message} [${j.rule}]`;
    })
    .join('\n');
}

const SARIF_LEVEL: Record<string, Sarif.Result.level> = { error: 'error', warning: 'warning', info: 'note', hint: 'note' };

export function formatSarif(findings: readonly Finding[], cwd: string, version: string): Sarif.Log {
  const ruleIndex = new Map(RULES.map((rule, index) => [rule.id, index]));
  const region = (f: Finding): Sarif.Region => ({
    startLine: f.range.start.line + 1,
    startColumn: f.range.start.character + 1,
    endLine: f.range.end.line + 1,
    endColumn: f.range.end.character + 1,
  });
  const location = (file: string, r: Sarif.Region): Sarif.Location => ({
    physicalLocation: { artifactLocation: { uri: path.relative(cwd, file).split(path.sep).join('/'), uriBaseId: '%SRCROOT%' }, region: r },
  });
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{
      tool: {
        driver: {
          name: 'lkm-lint',
          informationUri: 'https://github.com/lkm-dev/lkm-dev',
          version,
          rules: RULES.map((rule) => ({
            id: rule.id,
            name: rule.id.replace(/(^|-)([a-z])/g, (_, _dash: string, c: string) => c.toUpperCase()),
            shortDescription: { text: rule.docs.summary },
            fullDescription: { text: rule.docs.description },
            defaultConfiguration: { level: SARIF_LEVEL[rule.defaultSeverity] },
            help: { text: rule.docs.description },
          })),
        },
      },
      originalUriBaseIds: { '%SRCROOT%': { uri: pathToFileURL(cwd + path.sep).href } },
      results: findings.map((f) => ({
        ruleId: f.rule,
        ruleIndex: ruleIndex.get(f.rule) ?? -1,
        level: SARIF_LEVEL[f.severity],
        message: { text: f.message },
        locations: [location(f.file, region(f))],
        relatedLocations: f.related?.map((r, id) => ({ ...location(r.location.file, { startLine: r.location.range.start.line + 1, startColumn: r.location.range.start.character + 1 }), id, message: { text: r.message } })),
      })),
    }],
  };
}
