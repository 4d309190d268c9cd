// Runs every fixture under test/fixtures: C files whose expected findings are written inline,
// clang -verify style: a line ending in `// expect: rule-a, rule-b` must get exactly those findings,
// every other line none. A folder with a Kbuild is one module; a lone .c file is its own module.
// A `// lkm-fixture: kdir=REL rules=a,b` line in a file's first lines lints against a kernel build
// dir (relative to the file) and/or checks only those rules.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { discoverModules } from '../../server/src/analysis/kbuild';
import { loadKernelTarget } from '../../server/src/analysis/kernelTarget';
import { lintModuleFromDisk } from '../../server/src/cli/lintRun';
import { Analyzer, TextWorkspaceIndex } from '../../server/src/engine';
import { RULES } from '../../server/src/rules';

const FIXTURES = path.join(__dirname, '..', 'fixtures');
/** Folders under test/fixtures that hold inputs of other tests, not lint fixtures. */
const NOT_LINT_FIXTURES = new Set(['kernel-api', 'kdir-mini']);

function sourcesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return NOT_LINT_FIXTURES.has(entry.name) ? [] : sourcesUnder(full);
    return entry.name.endsWith('.c') ? [full] : [];
  });
}

export function expectationsOf(text: string): string[] {
  const expected: string[] = [];
  text.split('\n').forEach((line, index) => {
    const match = /\/\/\s*expect:\s*([a-z-]+(?:\s*,\s*[a-z-]+)*)\s*$/.exec(line);
    if (match) for (const rule of match[1]!.split(',')) expected.push(`${index + 1}: ${rule.trim()}`);
  });
  return expected.sort();
}

function fixtureOptions(file: string): { kdir?: string; rules?: string[] } {
  const header = fs.readFileSync(file, 'utf8').split('\n').slice(0, 5).join('\n');
  const match = /lkm-fixture:([^\n]*)/.exec(header);
  if (!match) return {};
  const options: { kdir?: string; rules?: string[] } = {};
  for (const [, key, value] of match[1]!.matchAll(/(\w+)=(\S+)/g)) {
    if (key === 'kdir') options.kdir = path.resolve(path.dirname(file), value!);
    if (key === 'rules') options.rules = value!.split(',');
  }
  return options;
}

const sources = sourcesUnder(FIXTURES);
const byDir = new Map<string, string[]>();
for (const file of sources) byDir.set(path.dirname(file), [...(byDir.get(path.dirname(file)) ?? []), file]);
const modules = [...byDir.values()].flatMap((files) => discoverModules(files));

describe('lint fixtures (inline expectations)', () => {
  let analyzer: Analyzer;
  before(async () => {
    analyzer = await Analyzer.create();
  });

  test('there are fixtures for every rule', () => {
    for (const rule of RULES) {
      assert.ok(sources.some((f) => fs.readFileSync(f, 'utf8').includes(`expect: ${rule.id}`)), `no fixture expects ${rule.id}`);
    }
  });

  for (const module of modules) {
    const name = path.relative(FIXTURES, module.files.length === 1 ? module.files[0]! : module.dir);
    test(name, () => {
      const options = fixtureOptions(module.files[0]!);
      const target = options.kdir ? loadKernelTarget(options.kdir) : undefined;
      const workspace = new TextWorkspaceIndex();
      const severity = options.rules ? Object.fromEntries(RULES.filter((r) => !options.rules!.includes(r.id)).map((r) => [r.id, 'off' as const])) : undefined;
      const result = lintModuleFromDisk(analyzer, module, target, workspace, { severity });
      assert.deepEqual(result.problems, []);
      for (const file of module.files) {
        const actual = result.findings.filter((f) => f.file === file).map((f) => `${f.range.start.line + 1}: ${f.rule}`).sort();
        const messages = result.findings.filter((f) => f.file === file).map((f) => `  ${f.range.start.line + 1}: ${f.message}`).join('\n');
        assert.deepEqual(actual, expectationsOf(fs.readFileSync(file, 'utf8')), `${path.relative(FIXTURES, file)}\n${messages}`);
      }
    });
  }
});
