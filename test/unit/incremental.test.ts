// The editor's keystroke path re-normalises and re-scans symbols only near an edit (renormalize,
// updateSymbols). Whatever the edit, the result must be exactly what a whole-file pass gives: checked
// here on every C fixture with edits chosen to break the scanners' state (comments, strings, `#if`,
// braces, data rows, new lines).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dataRuns, normalize, renormalize, type NormalizedSource } from '../../server/src/parsing/normalize';
import { extractSymbols, updateSymbols } from '../../server/src/analysis/symbols';
import type { ParsedFile } from '../../server/src/analysis/model';
import { getParser, parseWith } from '../../server/src/parsing/parser';

const fixturesRoot = path.join(__dirname, '..', 'fixtures');
const INSERTS = [
  'x', ' ', '\n', '/*', '*/', '"', "'", '(', ')', '{', '}', ';', ',', '->', '#if 0\n', '#endif\n', '#else\n', '#define FOO 1\n',
  'static int y;\n', 'int z(void) { return k; }\n', 'MODULE_LICENSE("GPL");\n', 'EXPORT_SYMBOL(foo);\n', 'spin_lock(&l);',
  'list_for_each_entry(a, b, c) ', '__acquires(x) ', '= {\n\t{1, 2},\n', '0x12, ', 'enum { AA, BB };\n', '\\\n',
];
const env = { versionCode: 0x60100, config: new Map([['CONFIG_PM', 'y']]) };

function cFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? cFiles(full) : entry.name.endsWith('.c') ? [full] : [];
  });
}

/** A ParsedFile for the scanners, which read only the texts. */
function asParsed(text: string, normalized: NormalizedSource): ParsedFile {
  return { path: 'edited.c', text, normalized, tree: undefined as never };
}

function comparable(normalized: NormalizedSource) {
  const { checkpoints: _checkpoints, statementMacros, ...rest } = normalized;
  return { ...rest, statementMacros: [...statementMacros] };
}

test('renormalize and updateSymbols equal whole-file passes after any edit', () => {
  let seed = 11;
  const random = (limit: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % limit;
  };
  const files = cFiles(fixturesRoot);
  assert.ok(files.length >= 20, `fixtures found: ${files.length}`);
  let edits = 0;
  for (const file of files) {
    let text = fs.readFileSync(file, 'utf8');
    let normalized = normalize(text, env, { resumable: true });
    let symbols = extractSymbols(asParsed(text, normalized));
    for (let round = 0; round < 30; round++) {
      const start = random(text.length + 1);
      const oldEnd = Math.min(text.length, start + (random(3) === 0 ? random(12) : 0));
      const inserted = random(5) === 0 ? '' : INSERTS[random(INSERTS.length)]!;
      const next = text.slice(0, start) + inserted + text.slice(oldEnd);
      const what = `${path.relative(fixturesRoot, file)}: ${JSON.stringify(inserted)} at ${start} replacing ${oldEnd - start}`;
      const incremental = renormalize(normalized, next, { start, oldEnd, newEnd: start + inserted.length }, env);
      const whole = normalize(next, env);
      assert.deepEqual(comparable(incremental.normalized), comparable(whole), what);
      const { start: windowStart, newEnd: windowEnd } = incremental.window;
      assert.equal(next.slice(0, windowStart) === text.slice(0, windowStart), true, `${what}: the window starts before the edit`);
      assert.ok(windowEnd >= start + inserted.length, `${what}: the window ends after the edit`);
      const updated = updateSymbols(symbols, asParsed(next, incremental.normalized), incremental.window);
      assert.deepEqual(updated, extractSymbols(asParsed(next, whole)), what);
      text = next;
      normalized = incremental.normalized;
      symbols = updated;
      edits++;
    }
  }
  assert.ok(edits >= 600);
});

test('a re-scan after a one-character edit covers a few lines, not the file', () => {
  const body = Array.from({ length: 2000 }, (_, i) => `static int f${i}(int a)\n{\n\treturn a + ${i};\n}\n`).join('');
  const normalized = normalize(body, {}, { resumable: true });
  const at = body.indexOf('return a + 1000;');
  const next = body.slice(0, at) + 'x' + body.slice(at);
  const { window } = renormalize(normalized, next, { start: at, oldEnd: at, newEnd: at + 1 });
  assert.ok(window.newEnd - window.start < 1024, `window of ${window.newEnd - window.start} characters`);
});

test('numeric data rows of initializers are blanked and skipped by the parser', async () => {
  const rows = Array.from({ length: 300 }, (_, i) => `\t{0x${i.toString(16)}, 0x${(i * 7).toString(16)}}, /* row ${i} */`).join('\n');
  const text = [
    'static const struct reg_pair table[] = {',
    rows,
    '\t{REG_BASE, 0x1},',
    '\t[3][RTW_CN] = 34,',
    '\t0x5',
    '};',
    'static const struct ops my_ops = { .probe = my_probe, .id = 3, };',
    'int after(void) { return kmalloc(4, GFP_KERNEL) != 0; }',
    '',
  ].join('\n');
  const normalized = normalize(text);
  assert.equal(normalized.text.length, text.length);
  assert.equal(normalized.text.split('\n').length, text.split('\n').length, 'lines are kept');
  assert.doesNotMatch(normalized.text, /0x1d|row 5/, 'numeric rows are blank');
  assert.match(normalized.text, /\{REG_BASE, 0x1\},/, 'a row naming something stays');
  assert.match(normalized.text, /\.probe = my_probe, \.id = 3,/, 'an initializer on the declaration line stays');
  assert.doesNotMatch(normalized.text, /\[3\]\[RTW_CN\] = 34|0x5\n/, 'designated and last rows are blank');
  const runs = dataRuns(normalized);
  assert.equal(runs.length, 1);
  const parser = await getParser();
  const tree = parseWith(parser, normalized);
  try {
    assert.equal(tree.rootNode.hasError, false, tree.rootNode.toString().slice(0, 400));
    const call = tree.rootNode.descendantsOfType('call_expression').find((node) => node?.text.startsWith('kmalloc'));
    assert.ok(call, 'the function after the table is parsed');
    assert.equal(call.startIndex, text.indexOf('kmalloc('));
    assert.equal(call.startPosition.row, text.split('\n').length - 2);
  } finally {
    tree.delete();
  }
});
