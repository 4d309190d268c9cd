// The `lkm` debug type: F5 / "LKM: Debug Module" loads the active module on the test VM under gdb
// (QEMU's gdbstub on 127.0.0.1) and stops at breakpoints set in its sources, init included. The
// adapter (core/debug/dap.ts) runs inline in the extension host; the same adapter is `lkm debug-adapter`.
import * as vscode from 'vscode';
import { LkmDebugAdapter, type DapMessage } from './core/debug/dap';
import { moduleFolder } from './targets';

class InlineAdapter implements vscode.DebugAdapter {
  private readonly emitter = new vscode.EventEmitter<vscode.DebugProtocolMessage>();
  readonly onDidSendMessage = this.emitter.event;
  private readonly adapter = new LkmDebugAdapter((message) => this.emitter.fire(message as vscode.DebugProtocolMessage));

  handleMessage(message: vscode.DebugProtocolMessage): void {
    void this.adapter.handle(message as DapMessage);
  }

  dispose(): void {
    this.emitter.dispose();
  }
}

/** F5 without a launch.json, or a configuration without a folder: the module of the active editor. */
class ConfigurationProvider implements vscode.DebugConfigurationProvider {
  resolveDebugConfiguration(_folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): vscode.DebugConfiguration | undefined {
    if (!config.type && !config.request && !config.name) Object.assign(config, { type: 'lkm', request: 'launch', name: 'LKM: Debug Module' });
    config.folder ??= moduleFolder();
    if (!config.folder) {
      void vscode.window.showErrorMessage('LKM: open a file of a kernel module folder to debug it.');
      return undefined;
    }
    return config;
  }
}

export function activate(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.debug.registerDebugAdapterDescriptorFactory('lkm', {
      createDebugAdapterDescriptor: () => new vscode.DebugAdapterInlineImplementation(new InlineAdapter()),
    }),
    vscode.debug.registerDebugConfigurationProvider('lkm', new ConfigurationProvider()),
    vscode.commands.registerCommand('lkm.debugModule', async () => {
      const folder = moduleFolder();
      if (!folder) return void vscode.window.showErrorMessage('LKM: open a file of a kernel module folder to debug it.');
      await vscode.debug.startDebugging(vscode.workspace.getWorkspaceFolder(vscode.Uri.file(folder)), { type: 'lkm', request: 'launch', name: 'LKM: Debug Module', folder });
    }),
  );
}
