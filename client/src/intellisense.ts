// IntelliSense into the target kernel's headers. "LKM: Write Compilation Database" (and every Build
// and Load on this machine) writes the module folder's compile_commands.json (core/intellisense):
// clangd finds it by itself in the file's folder or a parent, so the clangd extension needs no
// setting; clangd 14 only misses a database that appears while a file is open (until its next
// edit), so creating one restarts clangd when the vscode-clangd extension runs. For the Microsoft C/C++ extension, when it is installed, LKM Dev is its custom
// configuration provider (answers from the same database); without it nothing is registered or shown.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { COMPILE_DATABASE, compileDatabaseKdir, generateCompileDatabase, readCompileDatabase, refreshCompileDatabase, type CompileCommand, type WrittenDatabase } from './core/intellisense/compdb';
import { commandForFile, cppConfiguration } from './core/intellisense/cppConfiguration';
import { kernelLogChannel } from './kernelLog';
import { activeTarget, moduleFolder, targetSettings } from './targets';

const CPPTOOLS_ID = 'ms-vscode.cpptools';
const CLANGD_ID = 'llvm-vs-code-extensions.vscode-clangd';
/** The API version whose SourceFileConfiguration has compilerArgs (vscode-cpptools' Version.v6). */
const CPPTOOLS_API_VERSION = 6;

/** The subset of the vscode-cpptools API (npm `vscode-cpptools`, api.d.ts) this file uses. */
interface CppToolsApi extends vscode.Disposable {
  registerCustomConfigurationProvider(provider: ConfigurationProvider): void;
  notifyReady(provider: ConfigurationProvider): void;
  didChangeCustomConfiguration(provider: ConfigurationProvider): void;
}

/** Set once registered with the C/C++ extension (it may be installed after activation). */
let cppTools: CppToolsApi | undefined;

function describe(written: WrittenDatabase): string {
  return `${vscode.workspace.asRelativePath(written.file)} (${written.entries.length} file${written.entries.length === 1 ? '' : 's'})`;
}

async function writeDatabase(): Promise<void> {
  const folder = moduleFolder();
  if (!folder) return void vscode.window.showErrorMessage('LKM: open a kernel module folder first.');
  const kdir = await compileDatabaseKdir(targetSettings());
  const existed = existsSync(path.join(folder, COMPILE_DATABASE));
  const written = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'LKM: Write Compilation Database', cancellable: true },
    (progress, token) => {
      const controller = new AbortController();
      token.onCancellationRequested(() => controller.abort());
      progress.report({ message: `building against ${kdir}` });
      return generateCompileDatabase(folder, kdir, { signal: controller.signal, output: (t) => kernelLogChannel().append(t) });
    },
  );
  await databaseWritten(existed);
  vscode.window.showInformationMessage(`LKM: wrote ${describe(written)} for clangd and the C/C++ extension.`);
}

/** Called by Build and Load: a build on this machine refreshes the folder's database. Never throws. */
export async function afterBuild(folder: string): Promise<void> {
  if (!vscode.workspace.getConfiguration('lkm').get<boolean>('compileCommands.afterBuild', true)) return;
  try {
    if (activeTarget()?.build === 'remote') return;
    const existed = existsSync(path.join(folder, COMPILE_DATABASE));
    const written = refreshCompileDatabase(folder, await compileDatabaseKdir(targetSettings()));
    if (!written?.changed) return;
    await databaseWritten(existed);
    // The first time the file appears in a folder, say so (it is the one file LKM Dev writes there).
    if (!existed) vscode.window.showInformationMessage(`LKM: wrote ${describe(written)} for clangd and the C/C++ extension (setting lkm.compileCommands.afterBuild).`);
  } catch (error) {
    kernelLogChannel().appendLine(`LKM: compile_commands.json not refreshed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** A database new to its folder restarts a running clangd (see above); the C/C++ extension hears of it through the watcher. */
async function databaseWritten(existed: boolean): Promise<void> {
  if (!existed && vscode.extensions.getExtension(CLANGD_ID)?.isActive) await vscode.commands.executeCommand('clangd.restart');
}

/** vscode-cpptools' CustomConfigurationProvider, answering from the nearest kernel compile_commands.json. */
class ConfigurationProvider implements vscode.Disposable {
  readonly name = 'LKM Dev';
  private readonly databases = new Map<string, { mtimeMs: number; commands: CompileCommand[] | undefined }>();

  constructor(readonly extensionId: string) {}

  async canProvideConfiguration(uri: vscode.Uri): Promise<boolean> {
    return Boolean(this.commandFor(uri));
  }

  async provideConfigurations(uris: vscode.Uri[]) {
    return uris.flatMap((uri) => {
      const command = this.commandFor(uri);
      return command ? [{ uri, configuration: cppConfiguration(command) }] : [];
    });
  }

  async canProvideBrowseConfiguration(): Promise<boolean> {
    return false;
  }

  async provideBrowseConfiguration() {
    return null;
  }

  async canProvideBrowseConfigurationsPerFolder(): Promise<boolean> {
    return false;
  }

  async provideFolderBrowseConfiguration() {
    return null;
  }

  dispose(): void {
    this.databases.clear();
  }

  /** The file's command from the nearest database at or above its folder that compiles kernel code. */
  private commandFor(uri: vscode.Uri): CompileCommand | undefined {
    if (uri.scheme !== 'file') return undefined;
    for (let dir = path.dirname(uri.fsPath); ; dir = path.dirname(dir)) {
      const commands = this.database(dir);
      if (commands) return commands.some(isKernelCommand) ? commandForFile(commands, uri.fsPath) : undefined;
      if (path.dirname(dir) === dir) return undefined;
    }
  }

  private database(dir: string): CompileCommand[] | undefined {
    const file = path.join(dir, COMPILE_DATABASE);
    const mtimeMs = existsSync(file) ? statSync(file).mtimeMs : -1;
    const cached = this.databases.get(dir);
    if (cached?.mtimeMs === mtimeMs) return cached.commands;
    let commands: CompileCommand[] | undefined;
    try {
      commands = readCompileDatabase(dir);
    } catch {
      commands = undefined; // someone else's malformed database: not ours to answer for
    }
    this.databases.set(dir, { mtimeMs, commands });
    return commands;
  }
}

function isKernelCommand(command: CompileCommand): boolean {
  return command.arguments.includes('-D__KERNEL__');
}

/** Registers with the C/C++ extension when it is installed (now or later); silent when it is not. */
async function connectCppTools(context: vscode.ExtensionContext): Promise<void> {
  const extension = vscode.extensions.getExtension<{ getApi?: (version: number) => CppToolsApi }>(CPPTOOLS_ID);
  if (!extension || cppTools) return;
  const exports = extension.isActive ? extension.exports : await extension.activate();
  const api = exports?.getApi?.(CPPTOOLS_API_VERSION);
  if (!api) return;
  cppTools = api;
  const provider = new ConfigurationProvider(context.extension.id);
  api.registerCustomConfigurationProvider(provider);
  api.notifyReady(provider);
  const watcher = vscode.workspace.createFileSystemWatcher(`**/${COMPILE_DATABASE}`);
  // Its answers are re-read by modification time; cpptools asks again once told.
  const changed = () => api.didChangeCustomConfiguration(provider);
  context.subscriptions.push(provider, api, watcher, watcher.onDidChange(changed), watcher.onDidCreate(changed), watcher.onDidDelete(changed));
}

export function activate(context: vscode.ExtensionContext): void {
  const connect = () =>
    connectCppTools(context).catch((error: unknown) => kernelLogChannel().appendLine(`LKM: C/C++ extension not connected: ${error instanceof Error ? error.message : String(error)}`));
  context.subscriptions.push(
    vscode.commands.registerCommand('lkm.writeCompileDatabase', async () => {
      try {
        await writeDatabase();
      } catch (error) {
        vscode.window.showErrorMessage(`LKM: ${error instanceof Error ? error.message : String(error)}`);
      }
    }),
    vscode.extensions.onDidChange(connect),
  );
  void connect();
}

export function deactivate(): void {
  cppTools = undefined;
}
