// The kernel log output channel (language `lkm-kernel-log`, highlighted by the grammar in
// syntaxes/) and `lkm.followKernelLog`, which streams the active target's log filtered to the module.
import * as vscode from 'vscode';
import { filterLogForModule, moduleNamesFromMakefile, openTarget, readKernelLog } from './core/targets/session';
import { failureOf, showFailure } from './failures';
import { activeTarget, chooseModuleFolder } from './targets';

let channel: vscode.OutputChannel | undefined;
let following: AbortController | undefined;

export function kernelLogChannel(): vscode.OutputChannel {
  channel ??= vscode.window.createOutputChannel('LKM Kernel Log', 'lkm-kernel-log');
  return channel;
}

/** Shows the kernel log lines of one load. */
export function showLoadLog(title: string, lines: string[]): void {
  const out = kernelLogChannel();
  out.appendLine(`--- ${title} ---`);
  for (const line of lines) out.appendLine(line);
  out.show(true);
}

async function toggleFollow(): Promise<void> {
  if (following) {
    following.abort();
    following = undefined;
    return;
  }
  const folder = await chooseModuleFolder();
  if (!folder) return;
  const modules = moduleNamesFromMakefile(folder);
  const controller = new AbortController();
  following = controller;
  const out = kernelLogChannel();
  out.show(true);
  try {
    const target = await openTarget(activeTarget(), folder, { signal: controller.signal });
    out.appendLine(`--- following the kernel log of ${target.name}${modules.length ? ` (filtered to ${modules.join(', ')})` : ''}; run the command again to stop ---`);
    await readKernelLog(target, {
      follow: true,
      signal: controller.signal,
      onLine: (line) => (modules.length ? modules.flatMap((m) => filterLogForModule([line], m)) : [line]).forEach((l) => out.appendLine(l)),
    });
    await target.connection.close();
  } catch (error) {
    if (!controller.signal.aborted) showFailure(failureOf(error));
  } finally {
    if (following === controller) following = undefined;
  }
}

export function activate(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('lkm.followKernelLog', toggleFollow),
    vscode.commands.registerCommand('lkm.showKernelLog', () => kernelLogChannel().show(true)),
  );
}

export function deactivate(): void {
  following?.abort();
  channel?.dispose();
  channel = undefined;
}
