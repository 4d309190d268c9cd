// Wires the client features together. Each feature lives in its own file and exports
// `activate(context)`; the order below is the activation order (the language client first so
// diagnostics appear as early as possible).
import * as vscode from 'vscode';
import * as languageClient from './languageClient';
import * as targets from './targets';
import * as kernelLog from './kernelLog';
import * as vm from './vm';
import * as buildAndLoad from './buildAndLoad';
import * as tasks from './tasks';
import * as scaffolding from './scaffolding';
import * as debug from './debug';

interface Feature {
  activate(context: vscode.ExtensionContext): void | Promise<void>;
  deactivate?(): void | Promise<void>;
}

const features: Feature[] = [languageClient, targets, kernelLog, vm, buildAndLoad, tasks, scaffolding, debug];

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  for (const feature of features) await feature.activate(context);
}

export async function deactivate(): Promise<void> {
  for (const feature of [...features].reverse()) await feature.deactivate?.();
}
