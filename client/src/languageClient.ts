// Starts the LKM language server (server/src/lsp/server.ts, bundled to out/server/server.js) over IPC
// and keeps it running: the server pushes diagnostics, quick fixes and hovers for C files and Kbuild.
// The server lints against the active target's kernel: the `lkm` settings it pulls carry that kernel
// (the server cannot know the targets or the test VM's headers), and it answers with the kernel it
// uses, or why there is none, which is shown once per kdir and session with the fix.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type Middleware, type ServerOptions } from 'vscode-languageclient/node';
import { KERNEL_TARGET_NOTIFICATION, TARGET_KERNEL_SETTING, type KernelTargetStatus } from '../../server/src/lsp/protocol';
import type { KdirFix } from '../../server/src/analysis/kernelTarget';
import { activeTargetKernel, kernelTargetNotice, NoticesShown } from './core/targets/kdir';
import { setLinterKernel } from './statusItem';
import { targetSettings } from './targets';

let client: LanguageClient | undefined;
/** The kernel the linter checks against (or why none), once the server has said. */
let kernelTarget: KernelTargetStatus | undefined;
const noticesShown = new NoticesShown();

export function getClient(): LanguageClient | undefined {
  return client;
}

/** Adds the active target's kernel to every `lkm` settings answer, so target changes reach the server as settings changes. */
const middleware: Middleware = {
  workspace: {
    configuration: async (params, token, next) => {
      const answers = await next(params, token);
      if (!Array.isArray(answers)) return answers;
      return Promise.all(answers.map(async (answer: unknown, i) =>
        params.items[i]?.section === 'lkm' && answer && typeof answer === 'object'
          ? { ...answer, [TARGET_KERNEL_SETTING]: await activeTargetKernel(targetSettings) }
          : answer));
    },
  },
};

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const module = context.asAbsolutePath(path.join('out', 'server', 'server.js'));
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6019'] } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'c' },
      { scheme: 'file', pattern: '**/{Kbuild,Makefile}' },
    ],
    synchronize: {
      // lkm.targets and lkm.activeTarget are in it: a target change makes the server pull the settings again.
      configurationSection: 'lkm',
      // Module membership (Kbuild/Makefile/Kconfig) and files edited outside the editor change module-wide results.
      fileEvents: vscode.workspace.createFileSystemWatcher('**/{*.c,*.h,Kbuild,Makefile,Kconfig}'),
    },
    middleware,
    outputChannelName: 'LKM Language Server',
  };
  client = new LanguageClient('lkm', 'LKM Language Server', serverOptions, clientOptions);
  context.subscriptions.push(
    client.onNotification(KERNEL_TARGET_NOTIFICATION, (status: KernelTargetStatus) => {
      kernelTarget = status;
      setLinterKernel(status);
      if (noticesShown.firstTime(status)) showKernelTarget(context, status);
    }),
    vscode.commands.registerCommand('lkm.restartLanguageServer', async () => {
      await client?.restart();
    }),
    // Returns the status too, for callers that want it rather than the message.
    vscode.commands.registerCommand('lkm.showLinterKernel', () => {
      if (kernelTarget) showKernelTarget(context, kernelTarget);
      else void vscode.window.showInformationMessage('LKM: the language server has not said yet which kernel it checks against.');
      return kernelTarget;
    }),
  );
  await client.start();
}

/** Says which kernel the linter uses, or why none with the fixes as actions (not awaited: the caller goes on). */
function showKernelTarget(context: vscode.ExtensionContext, status: KernelTargetStatus): void {
  const notice = kernelTargetNotice(status);
  if (!notice) {
    void vscode.window.showInformationMessage(`LKM: the linter checks against ${status.release ? `Linux ${status.release}` : 'the kernel'} in ${status.kdir} (${status.source}).`);
    return;
  }
  const actions = notice.fixes.map((fix) => ({ title: FIX_TITLES[fix], fix }));
  void vscode.window.showWarningMessage(notice.text, ...actions).then((picked) => picked && applyFix(context, picked.fix));
}

const FIX_TITLES: Record<KdirFix, string> = {
  'install-guest-headers': 'Install Guest Packages',
  'open-kdir-setting': 'Set lkm.kdir',
  'open-targets-setting': 'Edit lkm.targets',
};

function applyFix(context: vscode.ExtensionContext, fix: KdirFix): void {
  if (fix === 'open-kdir-setting') void vscode.commands.executeCommand('workbench.action.openSettings', 'lkm.kdir');
  else if (fix === 'open-targets-setting') void vscode.commands.executeCommand('workbench.action.openSettings', 'lkm.targets');
  else installGuestPackages(context);
}

/** Runs scripts/install-guest-deps.sh (it asks sudo for what it installs) and re-resolves the kdir when it ends. */
function installGuestPackages(context: vscode.ExtensionContext): void {
  const script = context.asAbsolutePath(path.join('scripts', 'install-guest-deps.sh'));
  if (!existsSync(script)) {
    void vscode.window.showErrorMessage(`LKM: ${script} is missing from the extension: install linux-headers-amd64 with your package manager.`);
    return;
  }
  const terminal = vscode.window.createTerminal({ name: 'LKM: install guest packages', shellPath: 'bash', shellArgs: [script] });
  terminal.show();
  const closed = vscode.window.onDidCloseTerminal((ended) => {
    if (ended !== terminal) return;
    closed.dispose();
    // The settings did not change, but what they resolve to may have: let the server pull them again.
    void client?.sendNotification('workspace/didChangeConfiguration', { settings: null });
  });
  context.subscriptions.push(closed);
}

export async function deactivate(): Promise<void> {
  await client?.stop();
  client = undefined;
}
