// "LKM: Start Test VM" / "Stop Test VM" / "Restart Test VM". A guest started from VS Code belongs
// to the extension host: it stops on deactivate, and its watchdog stops it if the host dies.
import * as vscode from 'vscode';
import { showFailure } from './failures';
import { refreshStatus } from './statusItem';
import { defaultGuestName, readGuestState, restartGuest, startGuest, stopGuest } from './core/guest/vm';

const started = new Set<string | undefined>();

/** Records a guest booted on this window's behalf (by Build and Load), so deactivate stops it. */
export function noteGuestStarted(name: string): void {
  started.add(name === defaultGuestName() ? undefined : name);
}

/** Runs a VM operation under a progress toast; a failure is shown after the toast has closed. */
async function withProgress(title: string, fn: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const failed = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (_progress, token) => {
    const controller = new AbortController();
    token.onCancellationRequested(() => controller.abort());
    try {
      await fn(controller.signal);
      return undefined;
    } catch (error) {
      return controller.signal.aborted ? undefined : { error };
    }
  });
  if (failed) showFailure({ message: `LKM: ${failed.error instanceof Error ? failed.error.message : String(failed.error)}`, actions: [{ title: 'Restart Test VM', command: 'lkm.restartVm' }, { title: 'Show Build Output', command: 'lkm.showBuildOutput' }] });
}

export function activate(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('lkm.startVm', () =>
      withProgress('LKM: Starting the test VM', async (signal) => {
        const running = readGuestState();
        if (running) return void vscode.window.showInformationMessage(`LKM: the test VM is already running (ssh on 127.0.0.1:${running.port}).`);
        const state = await startGuest({ signal });
        started.add(undefined);
        refreshStatus();
        vscode.window.setStatusBarMessage(`LKM: test VM ready in ${((state.readyMs ?? 0) / 1000).toFixed(1)} s (${state.accel.toUpperCase()})`, 5000);
      }),
    ),
    vscode.commands.registerCommand('lkm.stopVm', async () => {
      const stopped = await stopGuest();
      refreshStatus();
      vscode.window.setStatusBarMessage(stopped ? 'LKM: test VM stopped' : 'LKM: the test VM was not running', 5000);
    }),
    vscode.commands.registerCommand('lkm.restartVm', () =>
      withProgress('LKM: Restarting the test VM', async (signal) => {
        await restartGuest({ signal, detached: false });
        started.add(undefined);
      }),
    ),
  );
}

export async function deactivate(): Promise<void> {
  for (const name of started) await stopGuest(name);
  started.clear();
}
