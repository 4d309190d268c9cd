// The language server's diagnostics as VS Code holds them, one fixture module per rule.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { suite, suiteSetup, test } from 'mocha';
import * as vscode from 'vscode';
import { activeExtension, lineOf, lkmDiagnostics, openFixture, ruleId, waitForRule, waitForRuleGone } from './helpers';

const cases = [
  { rule: 'sleep-in-atomic', file: 'atomic/atomic.c', at: 'msleep(10);' },
  { rule: 'lock-imbalance', file: 'locks/locks.c', at: 'return -EINVAL;' },
  { rule: 'missing-module-license', file: 'nolicense/nolicense.c' },
  { rule: 'unexported-symbol', file: 'consumer/consumer.c', at: 'lkm_e2e_provider_value());' },
];

suite('diagnostics', () => {
  suiteSetup(activeExtension);

  for (const { rule, file, at } of cases) {
    test(`${rule} is reported on ${file}`, async () => {
      const { document } = await openFixture(file);
      const diagnostic = await waitForRule(document.uri, rule);
      assert.equal(diagnostic.source, 'lkm');
      assert.ok(diagnostic.message.trim().length > 0, 'empty message');
      // Problems shows plain text: code is quoted, never in literal markdown backticks.
      assert.doesNotMatch(diagnostic.message, /`/, diagnostic.message);
      // The rule's code links to its page, a file the extension carries.
      const code = diagnostic.code as { value: string; target: vscode.Uri };
      assert.equal(code.target.scheme, 'file');
      assert.equal(path.basename(code.target.fsPath), `${rule}.md`);
      assert.match((await vscode.workspace.fs.readFile(code.target)).toString(), new RegExp(`lkm-lint-disable-next-line ${rule}`));
      if (at) assert.equal(diagnostic.range.start.line, lineOf(document, at), `${rule} is on line ${diagnostic.range.start.line + 1}`);
      const others = lkmDiagnostics(document.uri).map(ruleId).filter((id) => id !== rule);
      assert.deepEqual(others, [], `${file} should only have ${rule}`);
    });
  }

  test('a violation typed into a clean module is reported, and goes away when undone', async () => {
    const editor = await openFixture('hello/hello.c');
    const { document } = editor;
    const insertAt = new vscode.Position(lineOf(document, 'MODULE_LICENSE("GPL");'), 0);
    const licenseLine = document.lineAt(insertAt.line).rangeIncludingLineBreak;
    // Removing the license line is the smallest edit that makes a clean module wrong.
    assert.ok(await editor.edit((edit) => edit.delete(licenseLine)));
    await waitForRule(document.uri, 'missing-module-license');
    await vscode.commands.executeCommand('undo');
    assert.match(document.getText(), /MODULE_LICENSE\("GPL"\);/);
    await waitForRuleGone(document.uri, 'missing-module-license');
    assert.deepEqual(lkmDiagnostics(document.uri).map(ruleId), []);
  });
});
