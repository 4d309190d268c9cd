// Task type `lkm` (build, load, unload, reload, log) for tasks.json, run through a pseudoterminal
// over the same core/targets engine. Build output carries `$lkm-kbuild`-matchable lines; kernel
// reports print as `file:line: severity: message` for `$lkm-kernel-log`.
import path from 'node:path';
import * as vscode from 'vscode';
import { pickTarget } from './core/targets/config';
import { formatProblems } from './core/targets/loop';
import { build, loadModules, openTarget, readKernelLog, releaseGuestUse, uploadModules, type LoadAction } from './core/targets/session';
import { parseParamAssignment } from './core/targets/params';
import { terminalSafe } from './core/targets/terminal';
import { moduleFolder, targetSettings } from './targets';

type Action = 'build' | LoadAction | 'log';
const ACTIONS: Action[] = ['build', 'load', 'unload', 'reload', 'log'];

interface LkmTaskDefinition extends vscode.TaskDefinition {
  action: Action;
  folder?: string;
  target?: string;
  params?: string[];
}

function createTask(definition: LkmTaskDefinition, scope: vscode.WorkspaceFolder | vscode.TaskScope = vscode.TaskScope.Workspace): vscode.Task {
  const execution = new vscode.CustomExecution(async () => new LkmTaskTerminal(definition));
  const matchers = definition.action === 'build' ? ['$lkm-kbuild'] : ['$lkm-kbuild', '$lkm-kernel-log'];
  return new vscode.Task(definition, scope, definition.action, 'lkm', execution, matchers);
}

class LkmTaskTerminal implements vscode.Pseudoterminal {
  private readonly write = new vscode.EventEmitter<string>();
  private readonly closed = new vscode.EventEmitter<number>();
  private readonly controller = new AbortController();
  readonly onDidWrite = this.write.event;
  readonly onDidClose = this.closed.event;

  constructor(private readonly definition: LkmTaskDefinition) {}

  open(): void {
    this.run().then(
      (code) => this.closed.fire(code),
      (error: unknown) => {
        this.print(`lkm: ${error instanceof Error ? error.message : String(error)}`);
        this.closed.fire(5);
      },
    );
  }

  handleInput(data: string): void {
    if (data === '\x03') this.controller.abort(); // Ctrl-C
  }

  close(): void {
    this.controller.abort();
  }

  private print(text: string): void {
    this.write.fire(`${terminalSafe(text.replace(/\r\n/g, '\n')).replace(/\n/g, '\r\n')}\r\n`);
  }

  private async run(): Promise<number> {
    const { action } = this.definition;
    if (!ACTIONS.includes(action)) throw new Error(`unknown lkm task action "${action}" (one of ${ACTIONS.join(', ')})`);
    const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '';
    const folder = this.definition.folder ? path.resolve(root, this.definition.folder) : moduleFolder();
    if (!folder) throw new Error('no module folder: set "folder" in the task');
    const config = pickTarget(targetSettings(), this.definition.target);
    const signal = this.controller.signal;
    const target = await openTarget(config, folder, { signal, startGuest: action !== 'log', holdGuest: true });
    try {
      if (action === 'log') {
        for (const line of await readKernelLog(target, { signal })) this.print(line);
        return 0;
      }
      const built = await build(target, folder, { signal, output: (t) => this.print(t.trimEnd()) });
      if (!built.ok || action === 'build') return built.ok ? 0 : 1;
      if (action !== 'unload') await uploadModules(target, built.modules, { signal });
      const params: Record<string, Array<{ name: string; value: string }>> = {};
      for (const text of this.definition.params ?? []) {
        const { name, value } = parseParamAssignment(text);
        const [module, param] = name.includes('.') ? name.split('.', 2) : [built.modules[0]?.name, name];
        (params[module] ??= []).push({ name: param, value });
      }
      const result = await loadModules(target, action, built.modules, { signal, params });
      if (result.messages.trim()) this.print(result.messages.trim());
      for (const line of result.log) this.print(line);
      // Absolute paths: what the $lkm-kernel-log problem matcher reads.
      for (const line of formatProblems(result.problems.filter((p) => p.file))) this.print(line);
      return result.ok ? 0 : 3;
    } finally {
      // The SSH master stays: other runs may share it, and ControlPersist ends it when idle.
      if (target.guest) releaseGuestUse(target.guest.name);
    }
  }
}

export function activate(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.tasks.registerTaskProvider('lkm', {
      provideTasks: () => ACTIONS.map((action) => createTask({ type: 'lkm', action })),
      resolveTask: (task) => {
        const definition = task.definition as LkmTaskDefinition;
        return definition.action ? createTask(definition, task.scope ?? vscode.TaskScope.Workspace) : undefined;
      },
    }),
  );
}

export function deactivate(): void {}
