// Wires the client features together. Each feature lives in its own file and exports
// `activate(context)`; the order below is the activation order (the language client first so
// diagnostics appear as early as possible).
import * as vscode from 'vscode';
import * as languageClient from './languageClient';
import * as targets from './targets';
import * as statusItem from './statusItem';
import * as kernelLog from './kernelLog';
import * as buildOutput from './buildOutput';
import * as failures from './failures';
import * as addSshTarget from './addSshTarget';
import * as vm from './vm';
import * as buildAndLoad from './buildAndLoad';
import * as tasks from './tasks';
import * as scaffolding from './scaffolding';
import * as intellisense from './intellisense';
import * as modulesView from './modulesView';
import * as guestShell from './guestShell';
import * as debug from './debug';

interface Feature {
  activate(context: vscode.ExtensionContext): void | Promise<void>;
  deactivate?(): void | Promise<void>;
}

const features: Feature[] = [languageClient, targets, statusItem, failures, addSshTarget, buildOutput, kernelLog, vm, buildAndLoad, tasks, scaffolding, modulesView, guestShell, intellisense, debug];

/** What the extension returns to others (the editor tests read the status item through it). */
export interface LkmApi {
  status: typeof statusItem.currentStatus;
}

export async function activate(context: vscode.ExtensionContext): Promise<LkmApi> {
  for (const feature of features) await feature.activate(context);
  return { status: statusItem.currentStatus };
}

export async function deactivate(): Promise<void> {
  for (const feature of [...features].reverse()) await feature.deactivate?.();
}
