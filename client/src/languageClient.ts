// Starts the LKM language server (server/src/lsp/server.ts, bundled to out/server/server.js) over IPC
// and keeps it running: the server pushes diagnostics, quick fixes and hovers for C files and Kbuild.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';

let client: LanguageClient | undefined;

export function getClient(): LanguageClient | undefined {
  return client;
}

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
      configurationSection: 'lkm',
      // Module membership (Kbuild/Makefile/Kconfig) and files edited outside the editor change module-wide results.
      fileEvents: vscode.workspace.createFileSystemWatcher('**/{*.c,*.h,Kbuild,Makefile,Kconfig}'),
    },
    outputChannelName: 'LKM Language Server',
  };
  client = new LanguageClient('lkm', 'LKM Language Server', serverOptions, clientOptions);
  context.subscriptions.push(
    vscode.commands.registerCommand('lkm.restartLanguageServer', async () => {
      await client?.restart();
    }),
  );
  await client.start();
}

export async function deactivate(): Promise<void> {
  await client?.stop();
  client = undefined;
}
