// Runs the grammar cases in test/grammar/cases with vscode-tmgrammar-test (vscode-textmate with
// VS Code's oniguruma). The grammars come from package.json's contributes.grammars, as in the editor,
// with the Kbuild grammar injected into the makefile grammar VS Code ships (tm-grammars' copy).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

const root = path.resolve(__dirname, '../..');
const casesDir = path.join(__dirname, 'cases');
const runner = require.resolve('vscode-tmgrammar-test/dist/unit.js');
const makefileGrammar = require.resolve('tm-grammars/grammars/make.json');

function runGrammarTests(cases: string[]): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [runner, '--config', path.join(root, 'package.json'), '-g', makefileGrammar, ...cases], {
    cwd: root,
    encoding: 'utf8',
    // The tool has hung on malformed assertion lines; never let that hang the suite.
    timeout: 60_000,
  });
  if (result.error) throw new Error(`vscode-tmgrammar-test did not finish: ${result.error.message}`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

test('package.json declares the kernel-log language, Kbuild as makefile, and both grammars', () => {
  const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    contributes: {
      languages?: { id: string; filenames?: string[] }[];
      grammars?: { language?: string; scopeName: string; path: string; injectTo?: string[] }[];
    };
  };
  const { languages = [], grammars = [] } = manifest.contributes;
  // The targets feature opens its output channel with this language id.
  assert.ok(languages.some((language) => language.id === 'lkm-kernel-log'), 'no lkm-kernel-log language');
  assert.ok(languages.some((language) => language.id === 'makefile' && language.filenames?.includes('Kbuild')), 'Kbuild files are not makefiles');
  const kernelLog = grammars.find((grammar) => grammar.language === 'lkm-kernel-log');
  const kbuild = grammars.find((grammar) => grammar.injectTo?.includes('source.makefile'));
  for (const grammar of [kernelLog, kbuild]) {
    assert.ok(grammar, 'a grammar contribution is missing');
    const file = JSON.parse(readFileSync(path.join(root, grammar.path), 'utf8')) as { scopeName: string };
    assert.equal(file.scopeName, grammar.scopeName, `${grammar.path}: scopeName differs from package.json`);
  }
});

test('every grammar case passes', () => {
  const cases = readdirSync(casesDir).map((name) => path.join(casesDir, name));
  assert.ok(cases.length >= 3, 'grammar cases are missing');
  const { status, output } = runGrammarTests(cases);
  assert.equal(status, 0, output);
  for (const testCase of cases) assert.ok(output.includes(`✓ ${testCase}`), `${testCase} did not report success:\n${output}`);
});

test('a wrong expectation fails the run (the harness can fail)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lkm-grammar-'));
  try {
    const wrong = path.join(dir, 'wrong.dmesg');
    writeFileSync(wrong, ['# SYNTAX TEST "source.lkm-kernel-log" "negative control"', '[    1.000000] BUG: oops', '#              ^^^^ comment.not-this-scope', ''].join('\n'));
    const { status, output } = runGrammarTests([wrong]);
    assert.notEqual(status, 0, output);
    assert.match(output, /missing required scopes: comment\.not-this-scope/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
