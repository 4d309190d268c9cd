// The module-level rules (missing-module-license, missing-module-description, unexported-symbol) on what their fixtures
// (test/fixtures/<rule>/, run by fixtures.test.ts) cannot show: messages, fixes' edits, and the workspace
// index (another module defines a symbol without exporting it). The ModuleContext is built by hand.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import type { Parser } from 'web-tree-sitter';
import type { ModuleCallGraph } from '../../server/src/analysis/callGraph';
import type { ModuleSpec } from '../../server/src/analysis/kbuild';
import { loadKernelTarget, type KernelTarget } from '../../server/src/analysis/kernelTarget';
import type { Finding, TextEdit } from '../../server/src/analysis/model';
import { extractSymbols } from '../../server/src/analysis/symbols';
import { normalize } from '../../server/src/parsing/normalize';
import { getParser, parseWith } from '../../server/src/parsing/parser';
import { missingModuleDescription } from '../../server/src/rules/missingModuleDescription';
import { missingModuleLicense } from '../../server/src/rules/missingModuleLicense';
import type { AnalyzedFile, Rule, WorkspaceSymbolIndex } from '../../server/src/rules/rule';
import { unexportedSymbol } from '../../server/src/rules/unexportedSymbol';

const FIXTURES = path.join(__dirname, '..', 'fixtures');
const KDIR_MINI = path.join(FIXTURES, 'kdir-mini');
const EMPTY_WORKSPACE: WorkspaceSymbolIndex = { definitionsOf: () => [] };

let parser: Parser;
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-rules-'));

function analyze(file: string, text: string, target?: KernelTarget): AnalyzedFile {
  const normalized = normalize(text, { versionCode: target?.versionCode, config: target?.config });
  const parsed = { path: file, text, normalized, tree: parseWith(parser, normalized) };
  return { parsed, symbols: extractSymbols(parsed), functions: [] };
}

function run(rule: Rule, module: ModuleSpec, files: AnalyzedFile[], target?: KernelTarget, workspace = EMPTY_WORKSPACE): Finding[] {
  const findings: Finding[] = [];
  // These rules read symbols only; the call graph belongs to the function-level rules.
  const callGraph = {} as ModuleCallGraph;
  rule.check({ module, files, callGraph, target, workspace }, (report) => findings.push({ ...report, rule: rule.id, severity: report.severity ?? rule.defaultSeverity }));
  return findings;
}

before(async () => {
  parser = await getParser();
});

function applyEdit(text: string, edit: TextEdit): string {
  const lines = text.split('\n');
  const offset = (line: number, character: number) => lines.slice(0, line).reduce((sum, l) => sum + l.length + 1, 0) + character;
  return text.slice(0, offset(edit.range.start.line, edit.range.start.character)) + edit.newText + text.slice(offset(edit.range.end.line, edit.range.end.character));
}

describe('missing-module-license details', () => {
  test('messages, severities and the fix that adds MODULE_LICENSE after the last MODULE_* line', () => {
    const text = '#include <linux/module.h>\nmodule_init(f);\nMODULE_AUTHOR("me");\n\nstatic int x;\n';
    const file = analyze('/m/a.c', text);
    const module = { name: 'a', dir: '/m', files: ['/m/a.c'] };
    const findings = [...run(missingModuleLicense, module, [file]), ...run(missingModuleDescription, module, [file])];
    assert.deepEqual(findings.map((f) => [f.rule, f.severity, f.range.start.line]), [['missing-module-license', 'error', 2], ['missing-module-description', 'info', 2]]);
    assert.match(findings[0]!.message, /module `a` has no MODULE_LICENSE/);
    assert.match(findings[1]!.message, /no MODULE_DESCRIPTION \(modpost checks it only with W=1, since Linux 6\.5/);
    const fix = findings[0]!.fixes?.[0];
    assert.equal(fix?.title, 'Add MODULE_LICENSE("GPL")');
    const fixed = applyEdit(text, fix!.edits[0]!);
    assert.equal(fixed, '#include <linux/module.h>\nmodule_init(f);\nMODULE_AUTHOR("me");\nMODULE_LICENSE("GPL");\n\nstatic int x;\n');
    const after = analyze('/m/a.c', fixed);
    assert.equal(after.symbols.license?.value, 'GPL');
    file.parsed.tree.delete();
    after.parsed.tree.delete();
  });

  test('the fix goes at the end of a file with no module macros and no final newline', () => {
    const text = 'static int x;';
    const file = analyze('/m/b.c', text);
    const [finding] = run(missingModuleLicense, { name: 'b', dir: '/m', files: ['/m/b.c'] }, [file]);
    assert.equal(applyEdit(text, finding!.fixes![0]!.edits[0]!), 'static int x;\nMODULE_LICENSE("GPL");\n');
    file.parsed.tree.delete();
  });

  test('missing-module-description sits on MODULE_LICENSE when there is one, and says nothing once described', () => {
    const module = { name: 'd', dir: '/m', files: ['/m/d.c'] };
    const file = analyze('/m/d.c', 'static int x;\n\nMODULE_LICENSE("GPL");\n');
    assert.deepEqual(run(missingModuleDescription, module, [file]).map((f) => f.range.start.line), [2]);
    const described = analyze('/m/d.c', 'MODULE_DESCRIPTION("x");\nMODULE_LICENSE("GPL");\n');
    assert.deepEqual(run(missingModuleDescription, module, [described]), []);
    assert.deepEqual(run(missingModuleLicense, module, [described]), []);
    file.parsed.tree.delete();
    described.parsed.tree.delete();
  });

  test('an unknown license names the known ones', () => {
    const file = analyze('/m/c.c', 'MODULE_LICENSE("BSD");\nMODULE_DESCRIPTION("x");\n');
    const findings = run(missingModuleLicense, { name: 'c', dir: '/m', files: ['/m/c.c'] }, [file]);
    assert.equal(findings.length, 1);
    assert.match(findings[0]!.message, /"BSD"\) is not a license the kernel knows .*"Dual BSD\/GPL"/);
    file.parsed.tree.delete();
  });
});

describe('unexported-symbol details', () => {
  const workspace: WorkspaceSymbolIndex = {
    definitionsOf: (name) => ({
      core_private: [{ module: 'core', file: '/ws/core/core.c', exported: false, gplOnly: false, builtIn: false }],
      core_gpl: [{ module: 'core', file: '/ws/core/core.c', exported: true, gplOnly: true, builtIn: false }],
      core_open: [{ module: 'core', file: '/ws/core/core.c', exported: true, gplOnly: false, builtIn: false }],
      own_helper: [{ module: 'user', file: '/ws/user/user.c', exported: false, gplOnly: false, builtIn: false }],
    })[name] ?? [],
  };
  const source = (license: string) => [
    'static int f(void)',
    '{',
    '\tcore_private();',
    '\tcore_gpl();',
    '\tcore_open();',
    '\town_helper();',
    '\treturn kallsyms_lookup_name("x");',
    '}',
    `MODULE_LICENSE("${license}");`,
    'MODULE_DESCRIPTION("d");',
  ].join('\n');
  const module = { name: 'user', dir: '/ws/user', files: ['/ws/user/user.c'] };

  test('without a target: workspace modules only (unexported, GPL-only to a proprietary module)', () => {
    const gpl = analyze('/ws/user/user.c', source('GPL'));
    const proprietary = analyze('/ws/user/user.c', source('Proprietary'));
    const gplFindings = run(unexportedSymbol, module, [gpl], undefined, workspace);
    assert.deepEqual(gplFindings.map((f) => f.range.start.line), [2]);
    assert.match(gplFindings[0]!.message, /`core_private` is defined in module `core` .*without EXPORT_SYMBOL.*EXPORT_SYMBOL\(core_private\)/);
    const proprietaryFindings = run(unexportedSymbol, module, [proprietary], undefined, workspace);
    assert.deepEqual(proprietaryFindings.map((f) => f.range.start.line), [2, 3]);
    assert.match(proprietaryFindings[1]!.message, /`core_gpl` is exported GPL-only by module `core`/);
    gpl.parsed.tree.delete();
    proprietary.parsed.tree.delete();
  });

  test('a bare name another module defines is not a use of it: macro arguments and enum constants share names with functions', () => {
    const file = analyze('/ws/user/user.c', [
      'static int f(int cmd)',
      '{',
      '\tSET_VALID_IOCTL(ops, core_private);',
      '\tif (cmd == core_private)',
      '\t\treturn 1;',
      '\treturn core_private(cmd);',
      '}',
      'MODULE_LICENSE("GPL");',
      'MODULE_DESCRIPTION("d");',
    ].join('\n'));
    assert.deepEqual(run(unexportedSymbol, module, [file], undefined, workspace).map((f) => f.range.start.line), [5], 'only the call');
    file.parsed.tree.delete();
  });

  test('with a target: the namespace fix adds MODULE_IMPORT_NS next to the MODULE_* lines; messages name the release and the chain', () => {
    const target = loadKernelTarget(KDIR_MINI, { cacheDir });
    const text = 'int f(void *k, void *a)\n{\n\tdma_buf_get(1);\n\treturn sysfs_create_file(k, a);\n}\nMODULE_LICENSE("Proprietary");\nMODULE_DESCRIPTION("d");\n';
    const file = analyze('/m/n.c', text, target);
    const findings = run(unexportedSymbol, { name: 'n', dir: '/m', files: ['/m/n.c'] }, [file], target);
    assert.deepEqual(findings.map((f) => f.range.start.line), [2, 2, 3]);
    const [gplOnly, namespace, chain] = findings;
    assert.match(gplOnly!.message, /`dma_buf_get` is exported GPL-only .* by Linux 6\.1\.0-mini, but MODULE_LICENSE\("Proprietary"\)/);
    assert.match(namespace!.message, /namespace DMA_BUF by Linux 6\.1\.0-mini; add MODULE_IMPORT_NS\(DMA_BUF\);/);
    assert.equal(applyEdit(text, namespace!.fixes![0]!.edits[0]!), text.replace('MODULE_DESCRIPTION("d");\n', 'MODULE_DESCRIPTION("d");\nMODULE_IMPORT_NS(DMA_BUF);\n'));
    assert.match(chain!.message, /`sysfs_create_file` reaches `sysfs_create_file_ns` \(through `sysfs_create_file` → `sysfs_create_file_ns`\)/);
    assert.deepEqual(chain!.range, { start: { line: 3, character: 8 }, end: { line: 3, character: 25 } });
    file.parsed.tree.delete();
  });

  test('with a target: MODULE_IMPORT_NS in the module\'s own header imports the namespace', () => {
    const target = loadKernelTarget(KDIR_MINI, { cacheDir });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkm-ns-'));
    fs.writeFileSync(path.join(dir, 'own.h'), '#include <linux/module.h>\nMODULE_IMPORT_NS(DMA_BUF);\n');
    const source = (include: string) => `${include}void *f(void)\n{\n\treturn dma_buf_get(1);\n}\nMODULE_LICENSE("GPL");\nMODULE_DESCRIPTION("d");\n`;
    const lint = (text: string) => {
      const file = analyze(path.join(dir, 'own.c'), text, target);
      const messages = run(unexportedSymbol, { name: 'own', dir, files: [path.join(dir, 'own.c')] }, [file], target).map((f) => f.message);
      file.parsed.tree.delete();
      return messages;
    };
    assert.equal(lint(source('')).filter((m) => /namespace DMA_BUF/.test(m)).length, 1, 'without the header: not imported');
    assert.deepEqual(lint(source('#include "own.h"\n')), []);
  });

  test('with a target: a module that defines what a header inline reaches, or a dev_pm_ops its macro defines, links against itself', () => {
    const target = loadKernelTarget(KDIR_MINI, { cacheDir });
    const text = [
      'int sysfs_create_file_ns(void *k, const void *a, const void *ns)',
      '{',
      '\treturn 0;',
      '}',
      'int f(void *k, void *a)',
      '{',
      '\treturn sysfs_create_file(k, a);',
      '}',
      'EXPORT_NS_GPL_SIMPLE_DEV_PM_OPS(dma_buf_get, NULL, NULL, DMA_BUF);',
      'static const void *pm = &dma_buf_get;',
      'MODULE_LICENSE("Proprietary");',
      'MODULE_DESCRIPTION("d");',
    ].join('\n');
    const file = analyze('/m/own.c', text, target);
    assert.ok(file.symbols.definitions.some((d) => d.name === 'dma_buf_get'), 'the macro defines its first argument');
    assert.deepEqual(run(unexportedSymbol, { name: 'own', dir: '/m', files: ['/m/own.c'] }, [file], target).map((f) => f.message), []);
    file.parsed.tree.delete();
  });
});
