// Quick fixes through the same provider API the light bulb uses, applied like VS Code applies them.
import * as assert from 'node:assert/strict';
import { suite, suiteSetup, test } from 'mocha';
import * as vscode from 'vscode';
import { activeExtension, openFixture, ruleId, waitForRule, waitForRuleGone } from './helpers';

/** The quick fixes offered for the diagnostic, asked the way the light bulb asks (cursor range). */
async function quickFixesFor(document: vscode.TextDocument, diagnostic: vscode.Diagnostic): Promise<vscode.CodeAction[]> {
  const offered = await vscode.commands.executeCommand<(vscode.CodeAction | vscode.Command)[]>(
    'vscode.executeCodeActionProvider',
    document.uri,
    diagnostic.range,
    vscode.CodeActionKind.QuickFix.value,
  );
  // The API command returns actions without their diagnostics, and the workbench's chat adds
  // sub-kinds (quickfix.copilot, …) to every diagnostic: the server's fixes are plain quickfix edits.
  const fixes = (offered ?? []).filter(
    (a): a is vscode.CodeAction => 'kind' in a && a.kind?.value === vscode.CodeActionKind.QuickFix.value && a.edit !== undefined,
  );
  const titles = (offered ?? []).map((a) => `"${a.title}"`).join(', ') || 'none';
  assert.ok(fixes.length > 0, `no quick fix for ${ruleId(diagnostic)} among the offered actions: ${titles}`);
  return fixes;
}

async function apply(action: vscode.CodeAction): Promise<void> {
  assert.ok(action.edit || action.command, `quick fix "${action.title}" has neither an edit nor a command`);
  if (action.edit) assert.equal(await vscode.workspace.applyEdit(action.edit), true, `applying "${action.title}" failed`);
  if (action.command) await vscode.commands.executeCommand(action.command.command, ...(action.command.arguments ?? []));
}

suite('quick fixes', () => {
  suiteSetup(activeExtension);

  test('missing-module-license: the fix adds MODULE_LICENSE and the diagnostic goes away', async () => {
    const { document } = await openFixture('nolicense/nolicense.c');
    const diagnostic = await waitForRule(document.uri, 'missing-module-license');
    const fixes = await quickFixesFor(document, diagnostic);
    const before = document.getText();
    assert.doesNotMatch(before, /^MODULE_LICENSE\(/m);
    await apply(fixes[0]!);
    const after = document.getText();
    assert.match(after, /^MODULE_LICENSE\("[^"]+"\);$/m, `the fix "${fixes[0]!.title}" did not add a MODULE_LICENSE line`);
    // The fix only adds: every original line is still there, in order.
    const kept = after.split('\n').filter((line) => !line.startsWith('MODULE_LICENSE('));
    assert.deepEqual(kept.filter((l) => l.trim()), before.split('\n').filter((l) => l.trim()));
    await waitForRuleGone(document.uri, 'missing-module-license');
  });

  test('lock-imbalance: the preferred fix releases the lock on the leaking path', async () => {
    const { document } = await openFixture('locks/locks.c');
    const diagnostic = await waitForRule(document.uri, 'lock-imbalance');
    const fixes = await quickFixesFor(document, diagnostic);
    const preferred = fixes.find((f) => f.isPreferred) ?? fixes[0]!;
    const unlocksBefore = document.getText().match(/mutex_unlock\(/g)?.length ?? 0;
    await apply(preferred);
    const text = document.getText();
    assert.equal(text.match(/mutex_unlock\(/g)?.length ?? 0, unlocksBefore + 1, `"${preferred.title}" did not add one unlock`);
    // The unlock lands on the error path: between the check and its return.
    assert.match(text, /if \(value < 0\)[\s\S]*mutex_unlock\(&lkm_e2e_locks_mutex\);[\s\S]*return -EINVAL;/);
    await waitForRuleGone(document.uri, 'lock-imbalance');
  });

  test('every finding offers "Disable for this line": it adds the comment above, indented, and the finding goes', async () => {
    const editor = await openFixture('atomic/atomic.c');
    const { document } = editor;
    const diagnostic = await waitForRule(document.uri, 'sleep-in-atomic');
    const line = diagnostic.range.start.line;
    const indent = /^\s*/.exec(document.lineAt(line).text)![0];
    const disable = (await quickFixesFor(document, diagnostic)).find((f) => f.title === 'Disable sleep-in-atomic for this line');
    assert.ok(disable, 'no "Disable sleep-in-atomic for this line" fix');
    await apply(disable);
    assert.equal(document.lineAt(line).text, `${indent}// lkm-lint-disable-next-line sleep-in-atomic`);
    await waitForRuleGone(document.uri, 'sleep-in-atomic');
    await vscode.commands.executeCommand('undo');
    await waitForRule(document.uri, 'sleep-in-atomic');
  });
});
