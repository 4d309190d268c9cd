import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { suite, suiteSetup, test } from 'mocha';
import * as vscode from 'vscode';
import { lkmExtension, waitFor } from './helpers';
import { expandSnippet } from '../../scaffold/snippetExpander';

interface Snip { prefix: string; body: string[] }

suite('scaffolding in the editor (draft)', () => {
  suiteSetup(async () => {
    const extension = lkmExtension();
    await waitFor('the extension to activate', () => (extension.isActive ? true : undefined));
  });

  for (const [fileName, language] of [['c.json', 'c'], ['makefile.json', 'makefile']] as const) {
    test(`every ${language} snippet inserts as the expander says, and tab stop 1 renames`, async () => {
      const snippets = JSON.parse(readFileSync(path.join(lkmExtension().extensionPath, 'snippets', fileName), 'utf8')) as Record<string, Snip>;
      const problems: string[] = [];
      for (const [label, snippet] of Object.entries(snippets)) {
        const document = await vscode.workspace.openTextDocument({ language, content: '' });
        const editor = await vscode.window.showTextDocument(document);
        editor.options = { insertSpaces: false, tabSize: 8 };
        await vscode.commands.executeCommand('editor.action.insertSnippet', { langId: language, name: label });
        const expected = expandSnippet(snippet.body).text;
        if (document.getText() !== expected) problems.push(`${label} defaults:\n---got---\n${document.getText()}\n---expected---\n${expected}`);
        await vscode.commands.executeCommand('type', { text: 'lkm_zz' });
        await vscode.commands.executeCommand('jumpToNextSnippetPlaceholder');
        const renamed = expandSnippet(snippet.body, new Map([[1, 'lkm_zz']])).text;
        if (document.getText() !== renamed) problems.push(`${label} renamed:\n---got---\n${document.getText()}\n---expected---\n${renamed}`);
        await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
      }
      (await import('node:fs')).writeFileSync(`/tmp/gen/editor/problems-${language}.txt`, problems.join('\n\n=====\n\n'));
      assert.equal(problems.length, 0, `${problems.length} problems`);
    });
  }

});
