// lkm.* settings take effect in the running server, without a reload.
import * as assert from 'node:assert/strict';
import { suite, suiteSetup, suiteTeardown, test } from 'mocha';
import * as vscode from 'vscode';
import { activeExtension, openFixture, waitFor, waitForRule, waitForRuleGone, lkmDiagnostics, ruleId } from './helpers';

const severitySetting = () => vscode.workspace.getConfiguration('lkm.lint');

suite('settings', () => {
  suiteSetup(activeExtension);
  suiteTeardown(() => severitySetting().update('severity', undefined, vscode.ConfigurationTarget.Workspace));

  test('lkm.lint.severity changes a rule severity and turns it off, live', async () => {
    const { document } = await openFixture('atomic/atomic.c');
    const sleepDiagnostic = () => lkmDiagnostics(document.uri).find((d) => ruleId(d) === 'sleep-in-atomic');
    const initial = await waitForRule(document.uri, 'sleep-in-atomic');
    // Whatever the default is, move to a different severity so the change is observable.
    const [wanted, expected] =
      initial.severity === vscode.DiagnosticSeverity.Error
        ? (['hint', vscode.DiagnosticSeverity.Hint] as const)
        : (['error', vscode.DiagnosticSeverity.Error] as const);
    await severitySetting().update('severity', { 'sleep-in-atomic': wanted }, vscode.ConfigurationTarget.Workspace);
    await waitFor(`sleep-in-atomic to become ${wanted}`, () => (sleepDiagnostic()?.severity === expected ? true : undefined));

    await severitySetting().update('severity', { 'sleep-in-atomic': 'off' }, vscode.ConfigurationTarget.Workspace);
    await waitForRuleGone(document.uri, 'sleep-in-atomic');

    await severitySetting().update('severity', undefined, vscode.ConfigurationTarget.Workspace);
    const restored = await waitForRule(document.uri, 'sleep-in-atomic');
    assert.equal(restored.severity, initial.severity);
  });

  test('C files default to the kernel\'s tab width (8, tabs), as a [c] default any user setting overrides', async () => {
    const editor = await openFixture('hello/hello.c');
    const tabSize = vscode.workspace.getConfiguration('editor', { languageId: 'c', uri: editor.document.uri }).inspect<number>('tabSize');
    assert.equal(tabSize?.defaultLanguageValue, 8, 'the [c] default comes from the extension');
    assert.equal(tabSize?.globalLanguageValue ?? tabSize?.workspaceLanguageValue ?? tabSize?.globalValue, undefined, 'nothing was written to the user\'s settings');
    await waitFor('the editor to use 8-column tabs', () => (editor.options.tabSize === 8 && editor.options.insertSpaces === false ? true : undefined));
  });
});
