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
import { build, formatModinfo, listLoadedModules, loadModules, openTarget } from './core/targets/session';
import { showLoadLog, kernelLogChannel } from './kernelLog';
import { activeTarget, moduleFolder, targetSettings } from './targets';
import { noteGuestStarted } from './vm';

let diagnostics: vscode.DiagnosticCollection | undefined;

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

async function buildAndLoad(extraParams?: Record<string, ParamValue[]>): Promise<void> {
  const folder = moduleFolder();
  if (!folder) return void vscode.window.showErrorMessage('LKM: open a kernel module folder first.');
  const config = activeTarget();
  const out = kernelLogChannel();
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'LKM: Build and Load', cancellable: true },
    async (progress, token) => {
      const controller = new AbortController();
      token.onCancellationRequested(() => controller.abort());
      const result = await runLoop(folder, config, {
        startGuest: true,
        detachGuest: false,
        signal: controller.signal,
        params: { ...paramsFromSettings(), ...extraParams },
        output: (text) => out.append(text),
        progress: (step) => progress.report({ message: step }),
      });
      // A guest booted for this window (not one a terminal started with `lkm vm start`) stops with it.
      if (result.target?.guest && !result.target.guest.detached) noteGuestStarted(result.target.guest.name);
      // The SSH master stays open (ControlPersist) so the next run skips the handshake.
      publish(result.problems, folder);
      if (result.load) showLoadLog(`${result.summary} (${(result.durationMs / 1000).toFixed(1)} s)`, result.load.log);
      if (result.exitCode === EXIT.loaded) vscode.window.setStatusBarMessage(`LKM: ${result.summary}`, 5000);
      else if (result.exitCode !== EXIT.cancelled) {
        const choice = await vscode.window.showErrorMessage(`LKM: ${result.summary}`, 'Show Problems', 'Restart Test VM');
        if (choice === 'Show Problems') await vscode.commands.executeCommand('workbench.actions.view.problems');
        if (choice === 'Restart Test VM') await vscode.commands.executeCommand('lkm.restartVm');
      }
    },
  );
}

async function loadWithParams(): Promise<void> {
  const folder = moduleFolder();
  if (!folder) return;
  const target = await openTarget(activeTarget(), folder, { startGuest: true });
  try {
    const built = await build(target, folder, { output: (t) => kernelLogChannel().append(t) });
    if (!built.ok) {
      publish(built.problems, folder);
      return void vscode.window.showErrorMessage('LKM: build failed; see Problems.');
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
    await buildAndLoad(params);
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

async function unload(): Promise<void> {
  const folder = moduleFolder();
  if (!folder) return;
  const target = await openTarget(activeTarget(), folder, {});
  try {
    const built = await build(target, folder, {});
    const result = await loadModules(target, 'unload', built.modules, {});
    showLoadLog(`unload on ${target.name}`, result.log);
    if (!result.ok) vscode.window.showErrorMessage(`LKM: unload failed: ${result.messages.trim()}`);
  } finally {
    await target.connection.close();
  }
}

/** "LKM: Show Module Info" and "LKM: Show Loaded Modules": text views in the kernel log channel. */
async function showModinfo(): Promise<void> {
  const folder = moduleFolder();
  if (!folder) return;
  const target = await openTarget(activeTarget(), folder, { startGuest: true });
  try {
    const built = await build(target, folder, {});
    if (!built.ok) {
      publish(built.problems, folder);
      return void vscode.window.showErrorMessage('LKM: build failed; see Problems.');
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

function reportErrors(fn: () => Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await fn();
    } catch (error) {
      vscode.window.showErrorMessage(`LKM: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
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
    vscode.commands.registerCommand('lkm.buildAndLoad', reportErrors(() => buildAndLoad())),
    vscode.commands.registerCommand('lkm.loadWithParams', reportErrors(loadWithParams)),
    vscode.commands.registerCommand('lkm.unload', reportErrors(unload)),
    vscode.commands.registerCommand('lkm.showModinfo', reportErrors(showModinfo)),
    vscode.commands.registerCommand('lkm.showLoadedModules', reportErrors(showLoaded)),
  );
}

export function deactivate(): void {
  diagnostics = undefined;
}
