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
});
