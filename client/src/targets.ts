// Active target: a status bar item showing it and a QuickPick to switch (`lkm.selectTarget`).
// Other features ask here for the active target's settings and the module folder to work on.
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import type { KernelTargetStatus } from '../../server/src/lsp/protocol';
import { describeKernelTarget } from './core/targets/kdir';
import { pickTarget, TEST_VM_TARGET, validateModuleParams, validateTargets, type TargetConfig, type TargetSettings } from './core/targets/config';

let statusItem: vscode.StatusBarItem | undefined;
/** What the language server last said about its kernel (shown in the item's tooltip). */
let linterKernel: KernelTargetStatus | undefined;

export function targetSettings(): TargetSettings {
  const config = vscode.workspace.getConfiguration('lkm');
  return {
    targets: validateTargets(config.get('targets')),
    activeTarget: config.get<string>('activeTarget') || undefined,
    moduleParams: validateModuleParams(config.get('moduleParams')),
  };
}

/** The active target's settings; undefined = the built-in test VM. */
export function activeTarget(): TargetConfig | undefined {
  return pickTarget(targetSettings());
}

export function activeTargetName(): string {
  return activeTarget()?.name ?? TEST_VM_TARGET;
}

/** The module folder of the active editor (nearest folder with a Makefile or Kbuild), else the workspace's. */
export function moduleFolder(): string | undefined {
  const file = vscode.window.activeTextEditor?.document.uri;
  const workspace = file ? vscode.workspace.getWorkspaceFolder(file) : vscode.workspace.workspaceFolders?.[0];
  if (file?.scheme === 'file' && workspace) {
    for (let dir = path.dirname(file.fsPath); dir.startsWith(workspace.uri.fsPath); dir = path.dirname(dir)) {
      if (existsSync(path.join(dir, 'Makefile')) || existsSync(path.join(dir, 'Kbuild'))) return dir;
      if (dir === path.dirname(dir)) break;
    }
  }
  return workspace?.uri.fsPath;
}

/** The language server's kernel changed: the item says it, with a warning sign when export checks are off. */
export function setLinterKernel(status: KernelTargetStatus): void {
  linterKernel = status;
  refreshStatus();
}

function refreshStatus(): void {
  if (!statusItem) return;
  let name: string;
  let tooltip: string;
  try {
    name = activeTargetName();
    tooltip = 'LKM target: click to switch';
  } catch (error) {
    name = 'invalid target settings';
    tooltip = error instanceof Error ? error.message : String(error);
  }
  statusItem.text = `$(server-environment) ${name}${linterKernel?.problem ? ' $(warning)' : ''}`;
  statusItem.tooltip = linterKernel ? `${tooltip}\n${describeKernelTarget(linterKernel)}` : tooltip;
}

async function selectTarget(): Promise<void> {
  const settings = targetSettings();
  const items: Array<vscode.QuickPickItem & { value: string }> = [
    { label: TEST_VM_TARGET, description: 'built-in QEMU test guest', value: '' },
    ...settings.targets.map((t) => ({ label: t.name, description: `${t.host}${t.port ? `:${t.port}` : ''} (${t.build} build)`, value: t.name })),
  ];
  const picked = await vscode.window.showQuickPick(items, { placeHolder: `Active target: ${settings.activeTarget ?? TEST_VM_TARGET}` });
  if (!picked) return;
  const scope = vscode.workspace.workspaceFolders ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await vscode.workspace.getConfiguration('lkm').update('activeTarget', picked.value || undefined, scope);
}

export function activate(context: vscode.ExtensionContext): void {
  statusItem = vscode.window.createStatusBarItem('lkm.target', vscode.StatusBarAlignment.Left, 50);
  statusItem.name = 'LKM Target';
  statusItem.command = 'lkm.selectTarget';
  refreshStatus();
  statusItem.show();
  context.subscriptions.push(
    statusItem,
    vscode.commands.registerCommand('lkm.selectTarget', selectTarget),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('lkm.targets') || e.affectsConfiguration('lkm.activeTarget')) refreshStatus();
    }),
  );
}

export function deactivate(): void {
  statusItem = undefined;
}
