// "LKM: New Module…" (command palette and explorer context menu): asks for a module name and a
// template, creates the module folder with core/scaffold (the same code as `lkm new`) and opens the
// main source.
import * as path from 'node:path';
import { existsSync, statSync } from 'node:fs';
import * as vscode from 'vscode';
import { createModule, moduleNameProblem, newModuleProblem } from './core/scaffold/newModule';
import { moduleTemplates } from './core/scaffold/templates';

export function activate(context: vscode.ExtensionContext): void {
  context.subscriptions.push(vscode.commands.registerCommand('lkm.newModule', (target?: vscode.Uri) => newModule(target)));
}

export function deactivate(): void {}

/** The folder the module goes into: the clicked folder (or a clicked file's folder), else a workspace folder. */
async function chooseParentDir(target: vscode.Uri | undefined): Promise<string | undefined> {
  if (target?.scheme === 'file') {
    return statSync(target.fsPath).isDirectory() ? target.fsPath : path.dirname(target.fsPath);
  }
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length === 1) return folders[0].uri.fsPath;
  if (folders.length > 1) return (await vscode.window.showWorkspaceFolderPick({ placeHolder: 'Folder for the new module' }))?.uri.fsPath;
  const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Create the module here' });
  return picked?.[0]?.fsPath;
}

async function newModule(target: vscode.Uri | undefined): Promise<void> {
  const parentDir = await chooseParentDir(target);
  if (!parentDir) return;
  const kernelBuildDir = vscode.workspace.getConfiguration('lkm').get<string>('kdir') || undefined;

  let name = await vscode.window.showInputBox({
    title: 'LKM: New Module (1/2)',
    prompt: `Module name (a C identifier); the folder is created in ${parentDir}`,
    placeHolder: 'lkm_hello',
    // Cheap checks on every keystroke; the header scan for clashes runs once, below.
    validateInput: (value) => moduleNameProblem(value) ?? (existsSync(path.join(parentDir, value)) ? `${value} already exists here.` : undefined),
  });
  if (name === undefined) return;

  const picked = await vscode.window.showQuickPick(
    moduleTemplates.map((template) => ({ label: template.label, description: template.id, detail: template.detail, id: template.id })),
    { title: 'LKM: New Module (2/2)', placeHolder: 'Template', matchOnDescription: true, matchOnDetail: true },
  );
  if (!picked) return;

  for (;;) {
    const problem = newModuleProblem({ name, templateId: picked.id, parentDir, kernelBuildDir });
    if (!problem) break;
    // A clash with a kernel symbol is only known now: let the user fix the name, keep the template.
    const retry = await vscode.window.showInputBox({ title: 'LKM: New Module', prompt: problem, value: name, validateInput: moduleNameProblem });
    if (retry === undefined) return;
    name = retry;
  }

  try {
    const result = createModule({ name, templateId: picked.id, parentDir, kernelBuildDir });
    await vscode.window.showTextDocument(vscode.Uri.file(result.files[0]));
  } catch (error) {
    void vscode.window.showErrorMessage(`LKM: cannot create the module: ${error instanceof Error ? error.message : String(error)}`);
  }
}
