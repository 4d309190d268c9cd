import * as assert from 'node:assert/strict';
import { suite, test } from 'mocha';
import * as vscode from 'vscode';
import { lkmExtension, openFixture, waitFor } from './helpers';

suite('activation', () => {
  test('the extension activates when a C file of a module is open', async () => {
    const editor = await openFixture('hello/hello.c');
    assert.equal(editor.document.languageId, 'c');
    const extension = lkmExtension();
    // Waits for activation by VS Code itself (onLanguage:c / workspaceContains:**/Kbuild): calling
    // extension.activate() here would prove nothing about the activation events.
    await waitFor('the extension to activate', () => (extension.isActive ? true : undefined));
    // isActive is also true after a failed activation; activate() then rethrows the failure.
    await extension.activate();
  });

  test('it runs in a Node extension host with the workspace kind', () => {
    const extension = lkmExtension();
    assert.equal(extension.extensionKind, vscode.ExtensionKind.Workspace);
    assert.equal(typeof process.versions.node, 'string');
  });
});
