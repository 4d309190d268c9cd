// The one LKM status item: the active target (and, for the built-in test VM, whether it runs), the
// kernel the linter checks against, a warning sign when export checks are off. A click opens a quick
// pick of what there is to do (`lkm.showActions`).
import * as vscode from 'vscode';
import type { KernelTargetStatus } from '../../server/src/lsp/protocol';
import { readGuestState } from './core/guest/vm';
import { describeKernelTarget } from './core/targets/kdir';
import { TEST_VM_TARGET } from './core/targets/config';
import { activeTargetName } from './targets';

let item: vscode.StatusBarItem | undefined;
/** What the language server last said about its kernel. */
let linterKernel: KernelTargetStatus | undefined;

/** The state the item shows, recomputed on every refresh (so a fixed setting leaves no stale error). */
export interface StatusState {
  target: string;
  /** The settings' problem, when lkm.targets/lkm.activeTarget are invalid. */
  settingsProblem?: string;
  testVmRunning: boolean;
  linterKernel?: KernelTargetStatus;
}

export function statusState(): StatusState {
  const testVmRunning = readGuestState() !== undefined;
  try {
    return { target: activeTargetName(), testVmRunning, linterKernel };
  } catch (error) {
    return { target: 'invalid target settings', settingsProblem: error instanceof Error ? error.message : String(error), testVmRunning, linterKernel };
  }
}

/** `test-vm (running) · 6.1.0-28-amd64`: the target, the VM's state when it is the target, the linter's kernel. */
export function statusText(state: StatusState): string {
  const vm = state.target === TEST_VM_TARGET ? (state.testVmRunning ? ' (running)' : ' (stopped)') : '';
  const kernel = state.linterKernel?.release ? ` · ${state.linterKernel.release}` : '';
  const warning = state.settingsProblem || state.linterKernel?.problem ? ' $(warning)' : '';
  return `$(server-environment) ${state.target}${vm}${kernel}${warning}`;
}

export function statusTooltip(state: StatusState): string {
  return [
    state.settingsProblem ? `LKM target settings are invalid: ${state.settingsProblem}` : `LKM target: ${state.target}`,
    `Test VM: ${state.testVmRunning ? 'running' : 'not running'}`,
    state.linterKernel ? describeKernelTarget(state.linterKernel) : 'Linter: the language server has not named its kernel yet',
    'Click for LKM actions',
  ].join('\n');
}

export function refreshStatus(): void {
  if (!item) return;
  const state = statusState();
  item.text = statusText(state);
  item.tooltip = statusTooltip(state);
  item.backgroundColor = state.settingsProblem ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
}

/** What the item shows now (the extension's API returns it, for the editor tests). */
export function currentStatus(): { text: string; tooltip: string } | undefined {
  return item ? { text: item.text, tooltip: String(item.tooltip ?? '') } : undefined;
}

/** The language server's kernel changed. */
export function setLinterKernel(status: KernelTargetStatus): void {
  linterKernel = status;
  refreshStatus();
}

interface Action extends vscode.QuickPickItem {
  command?: string;
}

function actions(state: StatusState): Action[] {
  const vm: Action[] = state.testVmRunning
    ? [{ label: '$(debug-stop) Stop Test VM', command: 'lkm.stopVm' }, { label: '$(terminal) Open Guest Shell', command: 'lkm.openGuestShell' }]
    : [{ label: '$(vm-running) Start Test VM', command: 'lkm.startVm' }];
  return [
    { label: '$(play) Build and Load', description: state.target, command: 'lkm.buildAndLoad' },
    { label: '$(server-environment) Select Target…', description: `now ${state.target}`, command: 'lkm.selectTarget' },
    { label: '$(add) Add SSH Target…', command: 'lkm.addSshTarget' },
    { label: 'test VM', kind: vscode.QuickPickItemKind.Separator },
    ...vm,
    { label: 'see', kind: vscode.QuickPickItemKind.Separator },
    { label: '$(list-tree) Loaded Modules', description: 'the Modules view', command: 'lkm.modules.focus' },
    { label: '$(info) Show Linter Kernel', description: state.linterKernel?.release ?? state.linterKernel?.problem, command: 'lkm.showLinterKernel' },
    { label: '$(output) Show Build Output', command: 'lkm.showBuildOutput' },
    { label: '$(output) Show Kernel Log', command: 'lkm.showKernelLog' },
    { label: '$(settings-gear) Edit Targets', command: 'lkm.editTargets' },
  ];
}

async function showActions(): Promise<void> {
  const state = statusState();
  const picked = await vscode.window.showQuickPick(actions(state), { title: `LKM — ${state.target}`, placeHolder: 'What to do' });
  if (picked?.command) await vscode.commands.executeCommand(picked.command);
}

export function activate(context: vscode.ExtensionContext): void {
  item = vscode.window.createStatusBarItem('lkm.status', vscode.StatusBarAlignment.Left, 50);
  item.name = 'LKM';
  item.command = 'lkm.showActions';
  refreshStatus();
  item.show();
  // The test VM may be started or stopped from a terminal (`lkm vm start`): its state file is re-read
  // every few seconds, which costs a stat and, when it exists, one small read.
  const poll = setInterval(refreshStatus, 5000);
  context.subscriptions.push(
    item,
    { dispose: () => clearInterval(poll) },
    vscode.commands.registerCommand('lkm.showActions', showActions),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('lkm.targets') || e.affectsConfiguration('lkm.activeTarget')) refreshStatus();
    }),
  );
}

export function deactivate(): void {
  item = undefined;
}
