// The active target: its settings, validated, and a QuickPick to switch (`lkm.selectTarget`). Other
// features ask here for the active target's settings and the module folder to work on.
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { ACTIONS, reportingFailures, SettingsError, showFailure } from './failures';
import { pickTarget, TEST_VM_TARGET, validateModuleParams, validateTargets, type TargetConfig, type TargetSettings } from './core/targets/config';

/** The target settings, validated; a bad entry throws a SettingsError that says which and how. */
export function targetSettings(): TargetSettings {
  const config = vscode.workspace.getConfiguration('lkm');
  const raw = config.get<unknown>('targets');
  try {
    return {
      targets: validateTargets(raw),
      activeTarget: config.get<string>('activeTarget') || undefined,
      moduleParams: validateModuleParams(config.get('moduleParams')),
    };
  } catch (error) {
    throw new SettingsError(messageOf(error), !Array.isArray(raw) || raw.length === 0);
  }
}

/** The active target's settings; undefined = the built-in test VM. */
export function activeTarget(): TargetConfig | undefined {
  const settings = targetSettings();
  try {
    return pickTarget(settings);
  } catch (error) {
    throw new SettingsError(messageOf(error), settings.targets.length === 0);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function activeTargetName(): string {
  return activeTarget()?.name ?? TEST_VM_TARGET;
}

/** The module folder of the active editor: the nearest folder with a Makefile or Kbuild inside its workspace folder. */
export function moduleFolder(): string | undefined {
  const file = vscode.window.activeTextEditor?.document.uri;
  const workspace = file ? vscode.workspace.getWorkspaceFolder(file) : undefined;
  if (file?.scheme !== 'file' || !workspace) return undefined;
  for (let dir = path.dirname(file.fsPath); dir.startsWith(workspace.uri.fsPath); dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'Makefile')) || existsSync(path.join(dir, 'Kbuild'))) return dir;
    if (dir === path.dirname(dir)) break;
  }
  return undefined;
}

/**
 * The module folder a command works on: the active editor's; else the workspace's module folders —
 * the only one, or the one the user picks; with none, says how to get one.
 */
export async function chooseModuleFolder(): Promise<string | undefined> {
  const fromEditor = moduleFolder();
  if (fromEditor) return fromEditor;
  const makefiles = await vscode.workspace.findFiles('**/{Makefile,Kbuild}', '**/{node_modules,.git}/**', 500);
  const folders = [...new Set(makefiles.map((uri) => path.dirname(uri.fsPath)))].sort();
  if (folders.length === 1) return folders[0];
  if (folders.length === 0) {
    showFailure({
      message: 'LKM: there is no kernel module folder to build: open a file of a module folder (one with a Makefile or Kbuild), or make one with LKM: New Module….',
      actions: [ACTIONS.newModule],
    });
    return undefined;
  }
  const items = folders.map((folder) => ({ label: vscode.workspace.asRelativePath(folder, true), folder }));
  const picked = await vscode.window.showQuickPick(items, { title: 'LKM: which module?', placeHolder: 'No editor is open on a module file: pick the module folder to work on' });
  return picked?.folder;
}

const ADD_TARGET = 'add';

async function selectTarget(): Promise<void> {
  const settings = targetSettings();
  const items: Array<vscode.QuickPickItem & { value: string }> = [
    { label: TEST_VM_TARGET, description: 'built-in QEMU test guest', value: '' },
    ...settings.targets.map((t) => ({ label: t.name, description: `${t.host}${t.port ? `:${t.port}` : ''} (${t.build} build)`, value: t.name })),
    { label: '$(add) Add SSH Target…', value: ADD_TARGET, alwaysShow: true },
  ];
  const picked = await vscode.window.showQuickPick(items, { title: 'LKM: Select Target', placeHolder: `Active target: ${settings.activeTarget ?? TEST_VM_TARGET}` });
  if (!picked) return;
  if (picked.value === ADD_TARGET) return void (await vscode.commands.executeCommand('lkm.addSshTarget'));
  const where = await saveActiveTarget(picked.value);
  vscode.window.setStatusBarMessage(`LKM: active target ${picked.label}${where ? ` (saved in ${where})` : ''}`, 8000);
}

/**
 * Writes lkm.activeTarget beside the target's definition: in the workspace's settings only when the
 * targets are defined there (the user already keeps LKM settings in the repository), else in the
 * user's. The test VM (no name) clears the setting wherever it is set. Returns where it wrote.
 */
export async function saveActiveTarget(name: string): Promise<string | undefined> {
  const lkm = vscode.workspace.getConfiguration('lkm');
  const active = lkm.inspect<string>('activeTarget');
  const targets = lkm.inspect('targets');
  if (!name) {
    if (active?.workspaceValue !== undefined) await lkm.update('activeTarget', undefined, vscode.ConfigurationTarget.Workspace);
    if (active?.globalValue !== undefined) await lkm.update('activeTarget', undefined, vscode.ConfigurationTarget.Global);
    return undefined;
  }
  const inWorkspace = targets?.workspaceValue !== undefined && vscode.workspace.workspaceFolders !== undefined;
  await lkm.update('activeTarget', name, inWorkspace ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global);
  // A workspace value would hide the user one just written.
  if (!inWorkspace && active?.workspaceValue !== undefined) await lkm.update('activeTarget', undefined, vscode.ConfigurationTarget.Workspace);
  return inWorkspace ? 'the workspace settings (.vscode/settings.json)' : 'your user settings';
}

export function activate(context: vscode.ExtensionContext): void {
  context.subscriptions.push(vscode.commands.registerCommand('lkm.selectTarget', reportingFailures(selectTarget)));
}
