// What went wrong, told with the actions that fix that problem: an SSH target that refused the
// connection offers its settings and ~/.ssh/config, a compile error the Problems panel, a bad target
// setting the settings file — never one generic pair for everything. Also the commands those actions
// run that exist for nothing else (Edit Targets, Open SSH Config).
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import { TEST_VM_TARGET } from './core/targets/config';
import { EXIT, type LoopResult } from './core/targets/loop';
import { StepError } from './core/targets/session';
import { SshError } from './core/targets/ssh';

export interface FailureAction {
  title: string;
  command: string;
  args?: unknown[];
}

export interface Failure {
  message: string;
  actions: FailureAction[];
}

export const ACTIONS = {
  problems: { title: 'Show Problems', command: 'workbench.actions.view.problems' },
  buildOutput: { title: 'Show Build Output', command: 'lkm.showBuildOutput' },
  kernelLog: { title: 'Show Kernel Log', command: 'lkm.showKernelLog' },
  restartVm: { title: 'Restart Test VM', command: 'lkm.restartVm' },
  editTargets: { title: 'Edit Target', command: 'lkm.editTargets' },
  sshConfig: { title: 'Open SSH Config', command: 'lkm.openSshConfig' },
  addTarget: { title: 'Add Target…', command: 'lkm.addSshTarget' },
  selectTarget: { title: 'Select Target', command: 'lkm.selectTarget' },
  newModule: { title: 'New Module…', command: 'lkm.newModule' },
} satisfies Record<string, FailureAction>;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** An exception from a target operation, with the actions for its cause. */
export function failureOf(error: unknown): Failure {
  const message = `LKM: ${messageOf(error)}`;
  if (error instanceof SettingsError) return { message, actions: error.noTargets ? [ACTIONS.addTarget, ACTIONS.editTargets] : [ACTIONS.editTargets, ACTIONS.selectTarget] };
  if (!(error instanceof StepError)) return { message, actions: [ACTIONS.buildOutput] };
  const onTestVm = error.target === TEST_VM_TARGET;
  if (error.cause instanceof SshError || error.step === 'connect') {
    return { message, actions: onTestVm ? [ACTIONS.restartVm, ACTIONS.buildOutput] : [ACTIONS.editTargets, ACTIONS.sshConfig] };
  }
  return { message, actions: onTestVm ? [ACTIONS.buildOutput, ACTIONS.restartVm] : [ACTIONS.buildOutput, ACTIONS.editTargets] };
}

/** The outcome of Build and Load when it is not "loaded" (nor cancelled). */
export function loopFailure(result: LoopResult, moduleName: string): Failure {
  const onTestVm = result.target?.kind === 'test-vm';
  switch (result.exitCode) {
    case EXIT.buildFailed: {
      const errors = result.problems.filter((p) => p.severity === 'error').length;
      return errors > 0
        ? { message: `LKM: ${moduleName} did not build: ${errors} error(s), in Problems.`, actions: [ACTIONS.problems, ACTIONS.buildOutput] }
        : { message: `LKM: ${moduleName} did not build, and make named no file: the LKM Build output says why.`, actions: [ACTIONS.buildOutput] };
    }
    case EXIT.loadFailed: {
      // insmod/rmmod that said nothing (a target that stopped answering mid-load, say) still gets a sentence.
      const summary = /:\s*$/.test(result.summary) ? `${result.summary.replace(/:\s*$/, '')}, and the target gave no reason` : result.summary;
      return { message: `LKM: ${summary}`, actions: [ACTIONS.kernelLog, ACTIONS.problems, ...(onTestVm ? [ACTIONS.restartVm] : [])] };
    }
    case EXIT.kernelError:
      return { message: `LKM: ${result.summary}`, actions: [ACTIONS.problems, ACTIONS.kernelLog, ...(onTestVm ? [ACTIONS.restartVm] : [])] };
    default:
      return result.error !== undefined ? failureOf(result.error) : { message: `LKM: ${result.summary}`, actions: [ACTIONS.buildOutput] };
  }
}

/** Shows the failure (not modal) and runs the action picked; the command that failed ends at once. */
export function showFailure(failure: Failure): void {
  void vscode.window.showErrorMessage(failure.message, ...failure.actions).then((picked) => {
    if (picked) void vscode.commands.executeCommand(picked.command, ...(picked.args ?? []));
  });
}

/** Invalid `lkm.targets`/`lkm.activeTarget`: told with the settings to fix, never thrown at the user as a modal. */
export class SettingsError extends Error {
  constructor(message: string, readonly noTargets: boolean) {
    super(message);
    this.name = 'SettingsError';
  }
}

/** Wraps a command: any exception becomes a problem-specific notification. */
export function reportingFailures<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await fn(...args);
    } catch (error) {
      showFailure(failureOf(error));
    }
  };
}

/** Opens the settings file that defines lkm.targets (the workspace's when it has them, else the user's). */
async function editTargets(): Promise<void> {
  const inspected = vscode.workspace.getConfiguration('lkm').inspect('targets');
  if (inspected?.workspaceFolderValue !== undefined || inspected?.workspaceValue !== undefined) {
    await vscode.commands.executeCommand('workbench.action.openWorkspaceSettingsFile');
  } else {
    await vscode.commands.executeCommand('workbench.action.openSettingsJson');
  }
}

/** ~/.ssh/config in an editor; when there is none yet, an unsaved one at that path (saving creates it). */
async function openSshConfig(): Promise<void> {
  const file = path.join(homedir(), '.ssh', 'config');
  const uri = existsSync(file) ? vscode.Uri.file(file) : vscode.Uri.file(file).with({ scheme: 'untitled' });
  await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
}

export function activate(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('lkm.editTargets', editTargets),
    vscode.commands.registerCommand('lkm.openSshConfig', openSshConfig),
  );
}
