// Quick fixes through the same provider API the light bulb uses, applied like VS Code applies them.
import * as assert from 'node:assert/strict';
import { suite, suiteSetup, test } from 'mocha';
import * as vscode from 'vscode';
import { activeExtension, openFixture, ruleId, waitForRule, waitForRuleGone } from './helpers';

async function quickFixesFor(document: vscode.TextDocument, diagnostic: vscode.Diagnostic): Promise<vscode.CodeAction[]> {
  const actions = await vscode.commands.executeCommand<(vscode.CodeAction | vscode.Command)[]>(
    'vscode.executeCodeActionProvider',
    document.uri,
    diagnostic.range,
    vscode.CodeActionKind.QuickFix.value,
  );
  return (actions ?? []).filter(
    (a): a is vscode.CodeAction =>
      'kind' in a && a.kind !== undefined && vscode.CodeActionKind.QuickFix.contains(a.kind) && (a.diagnostics ?? []).some((d) => ruleId(d) === ruleId(diagnostic)),
  );
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
    assert.ok(fixes.length > 0, 'no quick fix offered for missing-module-license');
    const before = document.getText();
    assert.doesNotMatch(before, /MODULE_LICENSE\(/);
    await apply(fixes[0]!);
    const after = document.getText();
    assert.match(after, /^MODULE_LICENSE\("[^"]+"\);$/m, `the fix "${fixes[0]!.title}" did not add a MODULE_LICENSE line`);
    // The fix only adds: every original line is still there, in order.
    const kept = after.split('\n').filter((line) => !line.includes('MODULE_LICENSE'));
    assert.deepEqual(kept.filter((l) => l.trim()), before.split('\n').filter((l) => l.trim()));
    await waitForRuleGone(document.uri, 'missing-module-license');
  });

  test('unexported-symbol: the fix exports the symbol from the module that defines it', async () => {
    const { document } = await openFixture('consumer/consumer.c');
    const diagnostic = await waitForRule(document.uri, 'unexported-symbol');
    const fixes = await quickFixesFor(document, diagnostic);
    assert.ok(fixes.length > 0, 'no quick fix offered for unexported-symbol');
    await apply(fixes[0]!);
    const provider = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(document.uri, '..', '..', 'provider', 'provider.c'));
    assert.match(provider.getText(), /^EXPORT_SYMBOL(_GPL)?\(lkm_e2e_provider_value\);$/m);
    // The consumer's diagnostic depends on another file: it must update once that file is saved.
    await provider.save();
    await waitForRuleGone(document.uri, 'unexported-symbol');
  });
});
