// The snippets are generated from the templates and contributed to VS Code: checks that the files
// on disk are current, that every body expands, and that the first tab stop renames the module.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { generateSnippetFiles, serializeSnippetFile, snippetFileLanguages, type SnippetFile } from '../../client/src/core/scaffold/snippets';
import { renderText, snippetBody } from '../../client/src/core/scaffold/template';
import { cFragmentSnippets, defaultModuleName, moduleTemplates } from '../../client/src/core/scaffold/templates';
import { expandSnippet } from './snippetExpander';

const root = path.resolve(__dirname, '../..');

function readSnippetFile(fileName: string): SnippetFile {
  return JSON.parse(readFileSync(path.join(root, 'snippets', fileName), 'utf8')) as SnippetFile;
}

test('snippets/*.json are what the templates generate (regenerate: npx tsx client/src/core/scaffold/snippets.ts)', () => {
  for (const [fileName, generated] of Object.entries(generateSnippetFiles())) {
    const onDisk = readFileSync(path.join(root, 'snippets', fileName), 'utf8');
    assert.equal(onDisk, serializeSnippetFile(generated), `snippets/${fileName} is stale`);
  }
});

test('package.json contributes each snippet file for its language', () => {
  const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    contributes: { snippets?: { language: string; path: string }[] };
  };
  for (const [fileName, language] of Object.entries(snippetFileLanguages)) {
    assert.ok(
      manifest.contributes.snippets?.some((entry) => entry.language === language && path.normalize(entry.path) === path.normalize(`./snippets/${fileName}`)),
      `package.json contributes.snippets lacks { language: ${language}, path: ./snippets/${fileName} }`,
    );
  }
});

test('the issue\'s list of snippets is covered, with unique prefixes', () => {
  const prefixes = Object.keys(snippetFileLanguages).flatMap((fileName) =>
    Object.values(readSnippetFile(fileName)).map((snippet) => snippet.prefix),
  );
  assert.equal(new Set(prefixes).size, prefixes.length, `duplicate prefixes: ${prefixes.join(' ')}`);
  for (const wanted of [
    'lkm-module', 'lkm-param', 'lkm-param-string', 'lkm-param-array', 'lkm-chrdev', 'lkm-misc', 'lkm-platform', 'lkm-procfs',
    'lkm-sysfs', 'lkm-debugfs', 'lkm-kthread', 'lkm-workqueue', 'lkm-timer', 'lkm-tasklet', 'lkm-waitqueue', 'lkm-list-spinlock',
    'lkm-list-mutex', 'lkm-netfilter', 'lkm-kprobe', 'lkm-irq', 'lkm-export', 'lkm-makefile', 'lkm-makefile-multi', 'lkm-kbuild',
  ]) {
    assert.ok(prefixes.includes(wanted), `no snippet with prefix ${wanted}`);
  }
});

test('every snippet expands, each tab stop has one default, and typing a module name renames every use', () => {
  for (const fileName of Object.keys(snippetFileLanguages)) {
    for (const [label, snippet] of Object.entries(readSnippetFile(fileName))) {
      const defaults = expandSnippet(snippet.body);
      assert.ok(defaults.tabStops.length > 0, `${label}: no tab stop`);
      if (defaults.values.get(1) !== defaultModuleName) continue; // fragments: tab stop 1 is not a module name
      const renamed = expandSnippet(snippet.body, new Map([[1, 'zz_renamed']]));
      assert.ok(!renamed.text.includes(defaultModuleName), `${label}: '${defaultModuleName}' survives renaming tab stop 1`);
      assert.ok(!renamed.text.includes(defaultModuleName.toUpperCase()), `${label}: upper-case name survives renaming`);
      assert.match(renamed.text, /zz_renamed/);
    }
  }
});

test('a template snippet expanded with defaults is exactly the template rendered with defaults', () => {
  for (const template of moduleTemplates.filter((candidate) => candidate.snippetPrefix)) {
    const rendered = renderText(template.files[0].text, template.placeholders, {});
    const expanded = expandSnippet(snippetBody(template.files[0].text, template.placeholders)).text;
    assert.equal(expanded, rendered, template.id);
    assert.doesNotMatch(rendered, /\{\{|\}\}/, `${template.id}: unrendered placeholder`);
  }
});

test('escaping: literal $, backslashes and braces survive the round trip', () => {
  const text = 'printf("$HOME \\n \\\\ }{ ${x}"); {{name}} {{NAME}}';
  const placeholders = [{ key: 'name', default: 'a}b$c\\d' }];
  assert.equal(expandSnippet(snippetBody(text, placeholders)).text, renderText(text, placeholders, {}));
});

test('template rendering rejects a placeholder the template does not declare', () => {
  assert.throws(() => renderText('{{nope}}', [{ key: 'name', default: 'x' }], {}), /declares no such placeholder/);
});

test('choice placeholders default to their first choice', () => {
  for (const fragment of cFragmentSnippets) {
    for (const placeholder of fragment.placeholders) {
      if (placeholder.choices) assert.equal(placeholder.default, placeholder.choices[0], `${fragment.prefix}: ${placeholder.key}`);
    }
  }
});
