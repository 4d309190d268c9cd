// The recall corpus is well-formed: every case names a known class and rule, its patch applies cleanly to
// the Linux 6.1 source (Debian's linux-source tarball, extracted on demand as for the corpus test), and every
// line it names exists in the patched file, the expected ones inside a hunk of the patch. It does not lint
// the cases (scripts/recall.ts measures recall; the engine's numbers are not a property of the corpus).
// Fails (does not skip) when the tarball is missing: .ci/run installs it.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { RULES } from '../../server/src/rules';
import { linuxSourceWith } from '../corpus/linuxSource';
import { applyPatch, CLASSES, insideHunk, loadCases, mapOldLineToNew, parseUnifiedDiff, type RecallCase } from './recallCases';

const cases = loadCases();
const RULE_IDS = new Set(RULES.map((rule) => rule.id));
/** The brief of the corpus: at least 24 fixes, at least 8 of each class. */
const MIN_CASES = 24;
const MIN_PER_CLASS = 8;

/** Copies just the files the case patches into `root`, laid out as in the source tree, and applies the patch. */
function applyToCopy(sourceRoot: string, recallCase: RecallCase, root: string): string | undefined {
  for (const { file } of recallCase.files) {
    fs.mkdirSync(path.join(root, path.dirname(file)), { recursive: true });
    fs.copyFileSync(path.join(sourceRoot, file), path.join(root, file));
  }
  return applyPatch(recallCase, root);
}

function lineCount(file: string): number {
  return fs.readFileSync(file, 'utf8').split('\n').length;
}

describe('recall corpus', () => {
  test('has enough cases of each class', () => {
    assert.ok(cases.length >= MIN_CASES, `${cases.length} cases, want at least ${MIN_CASES}`);
    for (const bugClass of CLASSES) {
      const n = cases.filter((c) => c.bugClass === bugClass).length;
      assert.ok(n >= MIN_PER_CLASS, `${n} ${bugClass} cases, want at least ${MIN_PER_CLASS}`);
    }
  });

  test('every case names a rule of the linter and a title', () => {
    for (const c of cases) {
      assert.ok(RULE_IDS.has(c.rule), `${c.name}: unknown rule ${c.rule}`);
      assert.ok(c.title.length > 10, `${c.name}: no title`);
    }
  });

  test('every patch applies cleanly to Linux 6.1 and its lines exist, the expected ones inside a hunk', () => {
    const sourceRoot = linuxSourceWith([...new Set(cases.map((c) => c.moduleDir.split('/')[0]))].sort());
    const problems = cases.flatMap((c) => caseProblems(sourceRoot, c));
    assert.deepEqual(problems, []);
  });
});

/** What is wrong with one case's patch and lines, as messages naming the case (none when well-formed). */
function caseProblems(sourceRoot: string, recallCase: RecallCase): string[] {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `lkm-recall-test-${recallCase.name}-`));
  try {
    const problem = applyToCopy(sourceRoot, recallCase, root);
    if (problem) return [`${recallCase.name}: ${problem}`];
    const problems: string[] = [];
    for (const location of [...recallCase.expect, ...recallCase.accept]) {
      const where = `${recallCase.name}: ${location.file}:${location.line}`;
      if (!location.file.startsWith(`${recallCase.moduleDir}/`)) problems.push(`${where} is outside the module folder ${recallCase.moduleDir}`);
      const patched = path.join(root, location.file);
      const lines = lineCount(fs.existsSync(patched) ? patched : path.join(sourceRoot, location.file));
      if (location.line < 1 || location.line > lines) problems.push(`${where} is past the end (${lines} lines)`);
    }
    for (const location of recallCase.expect) {
      if (!insideHunk(recallCase.files, location)) problems.push(`${recallCase.name}: expected ${location.file}:${location.line} is outside every hunk`);
    }
    return problems;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

describe('recall corpus helpers', () => {
  const diff = [
    '# title: x', '--- a/d/f.c', '+++ b/d/f.c',
    '@@ -10,4 +10,3 @@', ' a', '-b', ' c', ' d',
    '@@ -20,3 +19,4 @@', ' e', '-f', '+g', '+h', ' i',
  ].join('\n');
  const [patch] = parseUnifiedDiff(diff);

  test('parses the hunks of a unified diff', () => {
    assert.equal(patch.file, 'd/f.c');
    assert.deepEqual(patch.hunks.map((h) => [h.oldStart, h.oldLines, h.newStart, h.newLines, h.body.length]), [[10, 4, 10, 3, 4], [20, 3, 19, 4, 5]]);
  });

  test('maps fixed-file lines to the patched file', () => {
    assert.equal(mapOldLineToNew(patch, 5), 5, 'above every hunk');
    assert.equal(mapOldLineToNew(patch, 12), 11, 'context after a deleted line');
    assert.equal(mapOldLineToNew(patch, 11), 11, 'a deleted line maps to the line after it');
    assert.equal(mapOldLineToNew(patch, 21), 20, 'a replaced line maps to its replacement');
    assert.equal(mapOldLineToNew(patch, 22), 22, 'context after a block that grew');
    assert.equal(mapOldLineToNew(patch, 30), 30, 'below every hunk: shifted by both');
  });

  test('knows which patched lines a hunk covers', () => {
    assert.ok(insideHunk([patch], { file: 'd/f.c', line: 12 }));
    assert.ok(!insideHunk([patch], { file: 'd/f.c', line: 13 }));
    assert.ok(!insideHunk([patch], { file: 'd/g.c', line: 12 }));
  });
});
