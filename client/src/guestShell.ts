// A shell on the active target (the "LKM Guest Shell" terminal profile and LKM: Open Guest Shell),
// over the same ssh connection and options the build loop uses — the test VM's own key and pinned
// host key included. And LKM: Run Program in Guest: a userspace program of the module folder (a
// test tool beside the module) built for the target, copied and run there in a terminal.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import { isKernelSource } from '../../server/src/analysis/sourceKind';
import { runProcess } from './core/targets/process';
import { shellQuote } from './core/targets/quote';
import { openTarget, type Target } from './core/targets/session';
import { reportingFailures, showFailure } from './failures';
import { refreshStatus } from './statusItem';
import { activeTarget, chooseModuleFolder } from './targets';

const COMPILE_TIMEOUT_MS = 120_000;

/** Opens the active target, starting the test VM when it is the target and not running. */
async function openActiveTarget(folder: string): Promise<Target> {
  const target = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'LKM: connecting to the target…' },
    () => openTarget(activeTarget(), folder, { startGuest: true, detachGuest: false }),
  );
  refreshStatus();
  return target;
}

/** ssh arguments for an interactive session on the target; `command` runs instead of a login shell. */
function sshArgs(target: Target, command?: string): string[] {
  return [...target.connection.commonArgs(), '-t', '--', target.connection.endpoint.host, ...(command ? [command] : [])];
}

async function shellProfile(): Promise<vscode.TerminalOptions> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? process.cwd();
  // The master connection stays open (ControlPersist): the shell multiplexes over it.
  const target = await openActiveTarget(folder);
  return { name: `LKM: ${target.name}`, shellPath: 'ssh', shellArgs: sshArgs(target), iconPath: new vscode.ThemeIcon('terminal-linux') };
}

async function openGuestShell(): Promise<void> {
  vscode.window.createTerminal(await shellProfile()).show();
}

/** The userspace programs of a folder: C files that define main() or include C library headers. */
export function userspacePrograms(folder: string): string[] {
  return readdirSync(folder)
    .filter((f) => f.endsWith('.c'))
    .map((f) => path.join(folder, f))
    .filter((file) => !isKernelSource(file, readFileSync(file, 'utf8'), 'not-listed'));
}

async function pickProgram(folder: string): Promise<string | undefined> {
  const programs = userspacePrograms(folder);
  if (programs.length === 0) {
    showFailure({ message: `LKM: ${vscode.workspace.asRelativePath(folder)} has no userspace program (a .c file with main()) to run.`, actions: [] });
    return undefined;
  }
  if (programs.length === 1) return programs[0];
  const picked = await vscode.window.showQuickPick(programs.map((p) => ({ label: path.basename(p), file: p })), { title: 'LKM: run which program in the guest?' });
  return picked?.file;
}

/**
 * Builds the program where the target's modules are built: here, statically linked (the test VM has
 * no C library of its own) for the test VM and local-build targets; on the target with its cc for
 * remote-build ones. Returns the path of the executable on the target.
 */
async function buildProgram(target: Target, source: string): Promise<string> {
  const name = path.basename(source, '.c');
  const remotePath = `${target.remoteDir}/bin/${name}`;
  const mkdir = `mkdir -p ${shellQuote(path.posix.dirname(remotePath))}`;
  if (target.build === 'local') {
    const dir = mkdtempSync(path.join(tmpdir(), 'lkm-prog-'));
    try {
      const out = path.join(dir, name);
      const cc = await runProcess('gcc', ['-static', '-O2', '-Wall', '-o', out, source], { timeoutMs: COMPILE_TIMEOUT_MS });
      if (cc.code !== 0) throw new Error(`gcc ${path.basename(source)} failed:\n${cc.stderr.trim()}`);
      await exec(target, `${mkdir} && cat > ${shellQuote(remotePath)} && chmod +x ${shellQuote(remotePath)}`, readFileSync(out));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else {
    const remoteSource = `${remotePath}.c`;
    await exec(target, `${mkdir} && cat > ${shellQuote(remoteSource)}`, readFileSync(source));
    await exec(target, `cc -O2 -Wall -o ${shellQuote(remotePath)} ${shellQuote(remoteSource)}`);
  }
  return remotePath;
}

async function exec(target: Target, command: string, input?: Buffer): Promise<void> {
  const result = await target.connection.exec(command, { timeoutMs: COMPILE_TIMEOUT_MS, input });
  if (result.code !== 0) throw new Error(`on ${target.name}: ${(result.stderr || result.stdout).trim() || `exit ${result.code}`}`);
}

async function runInGuest(): Promise<void> {
  const folder = await chooseModuleFolder();
  if (!folder) return;
  const source = await pickProgram(folder);
  if (!source) return;
  const target = await openActiveTarget(folder);
  const remotePath = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `LKM: building ${path.basename(source)} for ${target.name}` },
    () => buildProgram(target, source),
  );
  // A relative remoteDir is below the home, where ssh starts; the terminal waits so the output stays.
  const command = `${target.sudo ? 'sudo -n ' : ''}${shellQuote(remotePath)}; echo "[${path.basename(source, '.c')} exited with $?; Enter closes this terminal]"; read _`;
  const terminal = vscode.window.createTerminal({ name: `LKM: ${path.basename(source, '.c')} on ${target.name}`, shellPath: 'ssh', shellArgs: sshArgs(target, command), isTransient: true });
  terminal.show();
}

export function activate(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('lkm.openGuestShell', reportingFailures(openGuestShell)),
    vscode.commands.registerCommand('lkm.runInGuest', reportingFailures(runInGuest)),
    vscode.window.registerTerminalProfileProvider('lkm.guestShell', {
      provideTerminalProfile: async () => new vscode.TerminalProfile(await shellProfile()),
    }),
  );
}
