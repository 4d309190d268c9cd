// The Modules view (Explorer): what is loaded on the active target, each module with its parameters'
// current values from sysfs. The workspace's own modules come first, loaded or not, with inline
// load / reload / reload with parameters; any loaded module can be unloaded. It refreshes after
// every load or unload from the editor, when the target changes, and on demand.
import path from 'node:path';
import * as vscode from 'vscode';
import { listModulesWithParams, unloadModule, type LoadedModule } from './core/targets/loadedModules';
import { moduleNamesFromMakefile, openTarget } from './core/targets/session';
import { onDidLoad } from './buildAndLoad';
import { failureOf, reportingFailures, showFailure } from './failures';
import { showLoadLog } from './kernelLog';
import { refreshStatus } from './statusItem';
import { activeTarget, activeTargetName } from './targets';

type Node =
  | { kind: 'module'; name: string; loaded?: LoadedModule; folder?: string }
  | { kind: 'param'; module: string; name: string; value: string }
  | { kind: 'message'; text: string; detail?: string; command?: vscode.Command };

/** Module name → its folder, for every module a Makefile/Kbuild of the workspace builds. */
async function workspaceModules(): Promise<Map<string, string>> {
  const files = await vscode.workspace.findFiles('**/{Makefile,Kbuild}', '**/{node_modules,.git}/**', 500);
  const byName = new Map<string, string>();
  for (const folder of new Set(files.map((f) => path.dirname(f.fsPath)))) {
    for (const name of moduleNamesFromMakefile(folder)) if (!byName.has(name)) byName.set(name, folder);
  }
  return byName;
}

/** Opens the active target without starting the test VM (a view must not boot a guest by itself). */
async function withTarget<T>(fn: (target: Awaited<ReturnType<typeof openTarget>>) => Promise<T>): Promise<T> {
  const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? process.cwd();
  const target = await openTarget(activeTarget(), root, {});
  try {
    return await fn(target);
  } finally {
    await target.connection.close();
  }
}

class ModulesProvider implements vscode.TreeDataProvider<Node> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private roots: Promise<Node[]> | undefined;

  refresh(): void {
    this.roots = undefined;
    this.changed.fire();
  }

  getChildren(node?: Node): Node[] | Promise<Node[]> {
    if (!node) return (this.roots ??= this.load());
    if (node.kind === 'module' && node.loaded) return node.loaded.params.map((p) => ({ kind: 'param', module: node.name, name: p.name, value: p.value }));
    return [];
  }

  private async load(): Promise<Node[]> {
    const ours = await workspaceModules();
    let loaded: LoadedModule[];
    try {
      loaded = await withTarget((target) => listModulesWithParams(target));
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      if (/test VM is not running/.test(text)) {
        return [{ kind: 'message', text: 'The test VM is not running', detail: 'Start it, or Build and Load a module', command: { title: 'Start Test VM', command: 'lkm.startVm' } }];
      }
      return [{ kind: 'message', text: `Cannot list modules on ${safeTargetName()}`, detail: text }];
    }
    const byName = new Map(loaded.map((m) => [m.name, m]));
    const workspaceNodes: Node[] = [...ours].sort(([a], [b]) => a.localeCompare(b)).map(([name, folder]) => ({ kind: 'module', name, folder, loaded: byName.get(name) }));
    const others: Node[] = loaded.filter((m) => !ours.has(m.name)).map((m) => ({ kind: 'module', name: m.name, loaded: m }));
    return [...workspaceNodes, ...others];
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.kind === 'message') {
      const item = new vscode.TreeItem(node.text);
      item.description = node.detail;
      item.tooltip = node.detail;
      item.command = node.command;
      item.iconPath = new vscode.ThemeIcon('info');
      return item;
    }
    if (node.kind === 'param') {
      const item = new vscode.TreeItem(node.name);
      item.description = node.value;
      item.tooltip = `${node.module}.${node.name} = ${node.value}`;
      item.iconPath = new vscode.ThemeIcon('symbol-variable');
      item.contextValue = 'lkmParam';
      return item;
    }
    const { loaded, folder } = node;
    const item = new vscode.TreeItem(node.name, loaded?.params.length ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
    item.description = loaded ? `${loaded.state.toLowerCase()}${loaded.usedBy.length ? `, used by ${loaded.usedBy.join(', ')}` : ''}` : 'not loaded';
    item.tooltip = [folder ? `${node.name} — ${vscode.workspace.asRelativePath(folder)}` : node.name, loaded ? `${loaded.size} bytes, ${loaded.refcount} user(s)` : 'not loaded'].join('\n');
    item.iconPath = new vscode.ThemeIcon(loaded ? 'package' : 'circle-outline');
    // viewItem: lkmModule.<loaded|unloaded>[.workspace] — package.json's inline actions match on it.
    item.contextValue = `lkmModule.${loaded ? 'loaded' : 'unloaded'}${folder ? '.workspace' : ''}`;
    return item;
  }
}

function safeTargetName(): string {
  try {
    return activeTargetName();
  } catch {
    return 'the target';
  }
}

async function unload(provider: ModulesProvider, node: Node): Promise<void> {
  if (node.kind !== 'module') return;
  try {
    await withTarget((target) => unloadModule(target, node.name));
    showLoadLog(`${node.name} unloaded from ${safeTargetName()}`, []);
  } catch (error) {
    showFailure(failureOf(error));
  }
  provider.refresh();
}

export function activate(context: vscode.ExtensionContext): void {
  const provider = new ModulesProvider();
  const view = vscode.window.createTreeView('lkm.modules', { treeDataProvider: provider, showCollapseAll: true });
  const folderOf = (node: Node) => (node.kind === 'module' ? node.folder : undefined);
  const refresh = () => {
    provider.refresh();
    refreshStatus();
  };
  context.subscriptions.push(
    view,
    onDidLoad(refresh),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('lkm.targets') || e.affectsConfiguration('lkm.activeTarget')) refresh();
    }),
    vscode.commands.registerCommand('lkm.modules.refresh', refresh),
    vscode.commands.registerCommand('lkm.modules.load', (node: Node) => vscode.commands.executeCommand('lkm.buildAndLoad', folderOf(node))),
    vscode.commands.registerCommand('lkm.modules.reload', (node: Node) => vscode.commands.executeCommand('lkm.buildAndLoad', folderOf(node))),
    vscode.commands.registerCommand('lkm.modules.reloadWithParams', (node: Node) => vscode.commands.executeCommand('lkm.loadWithParams', folderOf(node))),
    vscode.commands.registerCommand('lkm.modules.unload', reportingFailures((node: Node) => unload(provider, node))),
  );
}
