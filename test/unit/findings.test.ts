// How findings are shown in the editor: plain-text messages, the rule pages they link to, and the
// "disable for this line" fix (the LSP round trip is in lsp.test.ts).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import type { Finding } from '../../server/src/analysis/model';
import { isSuppressed } from '../../server/src/engine';
import { disableLineFix, plainQuotes, ruleDocsUri } from '../../server/src/lsp/findings';
import { RULES } from '../../server/src/rules';

const ROOT = path.join(__dirname, '..', '..');

function finding(line: number, rule = 'sleep-in-atomic'): Finding {
  return { rule, severity: 'error', message: 'm', file: '/m/x.c', range: { start: { line, character: 2 }, end: { line, character: 9 } } };
}

/** Applies the fix's one insertion to `text`. */
function apply(text: string, f: Finding): string {
  const lines = text.split('\n');
  const fix = disableLineFix(f, (n) => lines[n]);
  assert.ok(fix);
  const [edit] = fix.edits;
  lines.splice(edit!.range.start.line, 0, edit!.newText.replace(/\n$/, ''));
  return lines.join('\n');
}

describe('findings in the editor', () => {
  test('code in messages is set in quotes; text without backticks is left alone', () => {
    assert.equal(plainQuotes('`kmalloc()` with `GFP_KERNEL` may sleep'), '‘kmalloc()’ with ‘GFP_KERNEL’ may sleep');
    assert.equal(plainQuotes('MODULE_LICENSE("GPL") is missing'), 'MODULE_LICENSE("GPL") is missing');
    assert.equal(plainQuotes('a lone ` stays'), 'a lone ` stays');
  });

  test('every rule has a page with what it finds, an example, how to suppress it and its limits', () => {
    for (const rule of RULES) {
      const uri = ruleDocsUri(rule.id, ROOT);
      assert.ok(uri, `docs/rules/${rule.id}.md is missing`);
      const page = fs.readFileSync(new URL(uri), 'utf8');
      for (const heading of ['## What it finds', '## Example', '## Suppressing a finding', '## Known limits']) assert.ok(page.includes(heading), `${rule.id}: no "${heading}"`);
      assert.ok(page.includes(`lkm-lint-disable-next-line ${rule.id}`), `${rule.id}: the page does not show its suppression comment`);
    }
    assert.equal(ruleDocsUri('no-such-rule', ROOT), undefined);
  });

  test('the suppression goes above the line with its indentation, and the linter honours it', () => {
    const text = 'static void f(void)\n{\n\tspin_lock(&l);\n\t\tmsleep(1);\n}\n';
    const fixed = apply(text, finding(3));
    assert.equal(fixed.split('\n')[3], '\t\t// lkm-lint-disable-next-line sleep-in-atomic');
    assert.ok(isSuppressed(finding(4), fixed));
    assert.ok(!isSuppressed(finding(4, 'lock-imbalance'), fixed), 'only the named rule is disabled');
  });

  test('inside a macro body the suppression is a continued block comment, so the macro goes on', () => {
    const text = '#define LOCKED(x) do { \\\n    spin_lock(&l); \\\n    msleep(x); \\\n} while (0)\n';
    const fixed = apply(text, finding(2));
    assert.equal(fixed.split('\n')[2], '    /* lkm-lint-disable-next-line sleep-in-atomic */ \\');
    assert.ok(fixed.split('\n').slice(0, 4).every((line) => line.endsWith('\\')), 'every line but the last still continues the macro');
    assert.ok(isSuppressed(finding(3), fixed));
  });

  test('a line past the end of the document gets no fix', () => {
    assert.equal(disableLineFix(finding(5), () => undefined), undefined);
  });
});
