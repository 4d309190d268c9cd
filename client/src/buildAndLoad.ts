// "LKM: Build and Load" (status bar button, keybinding): sync → build → reload → kernel log of this
// load, with a cancellable progress notification; build errors and kernel reports go to Problems.
// Also "LKM: Load with Parameters…" (prompted, validated against the module's parm: entries) and
// "LKM: Unload Module". A thin UI over core/targets.
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { EXIT, runLoop } from './core/targets/loop';
import { parseParamAssignment, validateParams, type ParamValue } from './core/targets/params';
import type { Problem } from './core/targets/problems';
import { TEST_VM_TARGET } from './core/targets/config';
import { build, formatModinfo, listLoadedModules, loadModules, moduleNamesFromMakefile, moduleOfSource, openTarget } from './core/targets/session';
import { buildOutput } from './buildOutput';
import { showLoadLog } from './kernelLog';
import { activeTarget, chooseModuleFolder, moduleFolder, targetSettings } from './targets';
import { loopFailure, reportingFailures, showFailure } from './failures';
import { afterBuild } from './intellisense';
import { noteGuestStarted } from './vm';
import { refreshStatus } from './statusItem';

let diagnostics: vscode.DiagnosticCollection | undefined;
const loaded = new vscode.EventEmitter<void>();
/** Fires after every load or unload (the Modules view refreshes on it). */
export const onDidLoad = loaded.event;

function notifyLoaded(): void {
  refreshStatus();
  loaded.fire();
}

/** Problems to the Problems panel; module-level ones without a source line go on the folder's Makefile/Kbuild. */
function publish(problems: Problem[], folder: string): void {
  if (!diagnostics) return;
  diagnostics.clear();
  const byFile = new Map<string, vscode.Diagnostic[]>();
  const moduleFile = ['Kbuild', 'Makefile'].map((f) => path.join(folder, f)).find((f) => existsSync(f));
  for (const problem of problems) {
    const p = problem.file || problem.severity !== 'error' || !moduleFile ? problem : { ...problem, file: moduleFile, line: 1 };
    if (!p.file) continue;
    const line = Math.max(0, (p.line ?? 1) - 1);
    const col = Math.max(0, (p.column ?? 1) - 1);
    const severity = p.severity === 'error' ? vscode.DiagnosticSeverity.Error : p.severity === 'warning' ? vscode.DiagnosticSeverity.Warning : vscode.DiagnosticSeverity.Information;
    const diagnostic = new vscode.Diagnostic(new vscode.Range(line, col, line, Number.MAX_SAFE_INTEGER), p.message, severity);
    diagnostic.source = p.source === 'kbuild' ? 'kbuild' : 'kernel';
    // A frame in inlined header code also links the header's lines (the inline chain), innermost first.
    const inlineChain = (f: NonNullable<Problem['frames']>[number]) => (f.inlined ?? []).filter((l) => l.file !== f.file || l.line !== f.line).map((l) => ({ file: l.file, line: l.line, raw: `${l.func}() inlined in ${f.func}` }));
    diagnostic.relatedInformation = (p.frames ?? [])
      .flatMap((f) => [...inlineChain(f), f])
      .filter((f) => f.file && f.line)
      .map((f) => new vscode.DiagnosticRelatedInformation(new vscode.Location(vscode.Uri.file(f.file!), new vscode.Position(f.line! - 1, 0)), f.raw));
    byFile.set(p.file, [...(byFile.get(p.file) ?? []), diagnostic]);
  }
  for (const [file, list] of byFile) diagnostics.set(vscode.Uri.file(file), list);
}

function paramsFromSettings(): Record<string, ParamValue[]> {
  return Object.fromEntries(Object.entries(targetSettings().moduleParams).map(([m, p]) => [m, Object.entries(p).map(([name, value]) => ({ name, value }))]));
}

/** In a folder of several modules, the active file's module (the loop adds what it depends on); else all. */
function activeFileModule(folder: string): string[] | undefined {
  const file = vscode.window.activeTextEditor?.document.uri;
  if (file?.scheme !== 'file' || moduleNamesFromMakefile(folder).length < 2) return undefined;
  const module = moduleOfSource(folder, file.fsPath);
  return module ? [module] : undefined;
}

/** A module folder passed to a command (a path from the Modules view, or a Uri from a menu). */
function folderOf(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  return arg instanceof vscode.Uri && arg.scheme === 'file' ? arg.fsPath : undefined;
}

async function buildAndLoad(extraParams?: Record<string, ParamValue[]>, folderArg?: unknown): Promise<void> {
  const folder = folderOf(folderArg) ?? (await chooseModuleFolder());
  if (!folder) return;
  const config = activeTarget();
  const output = buildOutput(`build and load ${path.basename(folder)} on ${config?.name ?? TEST_VM_TARGET}`);
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'LKM: Build and Load', cancellable: true },
    async (progress, token) => {
      const controller = new AbortController();
      token.onCancellationRequested(() => controller.abort());
      return runLoop(folder, config, {
        startGuest: true,
        detachGuest: false,
        signal: controller.signal,
        params: { ...paramsFromSettings(), ...extraParams },
        modules: activeFileModule(folder),
        output,
        progress: (step) => progress.report({ message: step }),
      });
    },
  );
  // The progress toast is gone by now: the outcome replaces it rather than sitting under it.
  // A guest booted for this window (not one a terminal started with `lkm vm start`) stops with it.
  if (result.target?.guest && !result.target.guest.detached) noteGuestStarted(result.target.guest.name);
  // The SSH master stays open (ControlPersist) so the next run skips the handshake.
  publish(result.problems, folder);
  if (result.build) await afterBuild(folder);
  if (result.load) showLoadLog(`${result.summary} (${(result.durationMs / 1000).toFixed(1)} s)`, result.load.log);
  notifyLoaded();
  if (result.exitCode === EXIT.loaded) vscode.window.setStatusBarMessage(`LKM: ${result.summary}`, 5000);
  else if (result.exitCode !== EXIT.cancelled) showFailure(loopFailure(result, path.basename(folder)));
}

async function loadWithParams(folderArg?: unknown): Promise<void> {
  const folder = folderOf(folderArg) ?? (await chooseModuleFolder());
  if (!folder) return;
  const target = await openTarget(activeTarget(), folder, { startGuest: true });
  try {
    const built = await build(target, folder, { output: buildOutput(`build ${path.basename(folder)} on ${target.name}`) });
    if (!built.ok) {
      publish(built.problems, folder);
      return showFailure(loopFailure({ exitCode: EXIT.buildFailed, problems: built.problems, summary: '', durationMs: 0 }, path.basename(folder)));
    }
    const params: Record<string, ParamValue[]> = {};
    for (const module of built.modules) {
      const hint = module.info.params.map((p) => `${p.name} (${p.type})`).join(', ') || 'no parameters';
      const text = await vscode.window.showInputBox({
        title: `Parameters for ${module.name}`,
        prompt: `name=value separated by spaces — ${hint}`,
        validateInput: (value) => {
          try {
            validateParams(module.name, module.info.params, splitAssignments(value));
            return undefined;
          } catch (error) {
            return error instanceof Error ? error.message : String(error);
          }
        },
      });
      if (text === undefined) return;
      params[module.name] = splitAssignments(text);
    }
    await buildAndLoad(params, folder);
  } finally {
    await target.connection.close();
  }
}

/** `a=1 b="two words"` → assignments (double quotes group a value with spaces). */
function splitAssignments(text: string): ParamValue[] {
  return (text.match(/[^\s=]+=(?:"[^"]*"|\S*)/g) ?? []).map((a) => {
    const p = parseParamAssignment(a);
    return { name: p.name, value: p.value.replace(/^"(.*)"$/, '$1') };
  });
}

async function unload(folderArg?: unknown): Promise<void> {
  const folder = folderOf(folderArg) ?? (await chooseModuleFolder());
  if (!folder) return;
  const target = await openTarget(activeTarget(), folder, {});
  try {
    const built = await build(target, folder, {});
    const result = await loadModules(target, 'unload', built.modules, {});
    showLoadLog(`unload on ${target.name}`, result.log);
    notifyLoaded();
    if (!result.ok) showFailure({ message: `LKM: unload failed: ${result.messages.trim()}`, actions: [{ title: 'Show Kernel Log', command: 'lkm.showKernelLog' }] });
  } finally {
    await target.connection.close();
  }
}

/** "LKM: Show Module Info" and "LKM: Show Loaded Modules": text views in the kernel log channel. */
async function showModinfo(): Promise<void> {
  const folder = await chooseModuleFolder();
  if (!folder) return;
  const target = await openTarget(activeTarget(), folder, { startGuest: true });
  try {
    const built = await build(target, folder, {});
    if (!built.ok) {
      publish(built.problems, folder);
      return showFailure(loopFailure({ exitCode: EXIT.buildFailed, problems: built.problems, summary: '', durationMs: 0 }, path.basename(folder)));
    }
    showLoadLog('modinfo', built.modules.map((m) => formatModinfo(m.relPath, m.info)).join('\n\n').split('\n'));
  } finally {
    await target.connection.close();
  }
}

async function showLoaded(): Promise<void> {
  const folder = moduleFolder() ?? process.cwd();
  const target = await openTarget(activeTarget(), folder, {});
  try {
    showLoadLog(`lsmod on ${target.name}`, (await listLoadedModules(target, {})).trimEnd().split('\n'));
  } finally {
    await target.connection.close();
  }
}

export function activate(context: vscode.ExtensionContext): void {
  diagnostics = vscode.languages.createDiagnosticCollection('lkm-targets');
  const button = vscode.window.createStatusBarItem('lkm.buildAndLoad', vscode.StatusBarAlignment.Left, 49);
  button.name = 'LKM Build and Load';
  button.text = '$(play) Build and Load';
  button.tooltip = 'LKM: sync, build, reload on the active target and show the kernel log';
  button.command = 'lkm.buildAndLoad';
  button.show();
  context.subscriptions.push(
    diagnostics,
    button,
    vscode.commands.registerCommand('lkm.buildAndLoad', reportingFailures((folder?: unknown) => buildAndLoad(undefined, folder))),
    vscode.commands.registerCommand('lkm.loadWithParams', reportingFailures(loadWithParams)),
    vscode.commands.registerCommand('lkm.unload', reportingFailures(unload)),
    vscode.commands.registerCommand('lkm.showModinfo', reportingFailures(showModinfo)),
    vscode.commands.registerCommand('lkm.showLoadedModules', reportingFailures(showLoaded)),
  );
}

export function deactivate(): void {
  diagnostics = undefined;
}
