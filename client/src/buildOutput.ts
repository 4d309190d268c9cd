// The "LKM Build" output channel: what sync, make and the test VM's start print. The kernel's own
// log of a load goes to "LKM Kernel Log" (kernelLog.ts), so neither buries the other.
import * as vscode from 'vscode';

let channel: vscode.OutputChannel | undefined;

export function buildChannel(): vscode.OutputChannel {
  channel ??= vscode.window.createOutputChannel('LKM Build');
  return channel;
}

/** Starts a section for one run (`--- build of hello on test-vm ---`) and returns its writer. */
export function buildOutput(title: string): (text: string) => void {
  const out = buildChannel();
  out.appendLine(`--- ${title} (${new Date().toLocaleTimeString()}) ---`);
  return (text) => out.append(text);
}

export function showBuildOutput(): void {
  buildChannel().show(true);
}

export function activate(context: vscode.ExtensionContext): void {
  context.subscriptions.push(vscode.commands.registerCommand('lkm.showBuildOutput', showBuildOutput));
}

export function deactivate(): void {
  channel?.dispose();
  channel = undefined;
}
