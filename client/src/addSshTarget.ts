// "LKM: Add SSH Target…": host (the Host entries of ~/.ssh/config offered, or user@host typed), user,
// port, build mode, name; then a real connection check through the same ssh options the loop uses
// (BatchMode, the user's known_hosts): an unknown host key is never accepted here — OpenSSH's own
// prompt runs in a terminal if the user wants to check and accept it. Then the target is written to
// the settings the user picks, which the message names.
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import { TEST_VM_TARGET, validateTargets, type TargetConfig } from './core/targets/config';
import { readSshHosts } from './core/targets/sshHosts';
import { SshConnection, SshError } from './core/targets/ssh';
import { reportingFailures } from './failures';

/** Everything the prompts ask; a caller (a test, a task) may pass it whole and skip them. */
export interface AddTargetRequest {
  target: TargetConfig;
  scope: 'user' | 'workspace';
  /** Save even when the connection check fails (the prompts ask instead). */
  saveUnverified?: boolean;
}

export interface AddTargetOutcome {
  saved: boolean;
  /** Why the connection check failed, when it did. */
  problem?: string;
}

async function askHost(): Promise<string | undefined> {
  const hosts = readSshHosts();
  const pick = vscode.window.createQuickPick<vscode.QuickPickItem>();
  pick.title = 'Add SSH Target (1/5): host';
  pick.placeholder = hosts.length ? 'A Host of ~/.ssh/config, or type user@host' : 'Type user@host (or an alias of ~/.ssh/config)';
  const fromConfig = hosts.map((h) => ({ label: h.alias, description: [h.user && `${h.user}@`, h.hostName ?? '', h.port ? `:${h.port}` : ''].join(''), detail: '~/.ssh/config' }));
  pick.items = fromConfig;
  pick.onDidChangeValue((value) => {
    const typed = value.trim();
    pick.items = typed && !fromConfig.some((i) => i.label === typed) ? [{ label: typed, description: 'as typed' }, ...fromConfig] : fromConfig;
  });
  const chosen = await new Promise<string | undefined>((resolve) => {
    pick.onDidAccept(() => resolve(pick.selectedItems[0]?.label));
    pick.onDidHide(() => resolve(undefined));
    pick.show();
  });
  pick.dispose();
  return chosen;
}

async function askTarget(): Promise<TargetConfig | undefined> {
  const alias = await askHost();
  if (!alias) return undefined;
  const entry = readSshHosts().find((h) => h.alias === alias);
  const user = alias.includes('@') ? '' : await vscode.window.showInputBox({
    title: 'Add SSH Target (2/5): user', prompt: 'Empty: the user ~/.ssh/config or your login gives', value: entry?.user ?? '',
    validateInput: (v) => (/^[^\s@]*$/.test(v) ? undefined : 'a user name, without spaces or @'),
  });
  if (user === undefined) return undefined;
  const port = await vscode.window.showInputBox({
    title: 'Add SSH Target (3/5): port', prompt: 'Empty: the port ~/.ssh/config gives, else 22', value: entry?.port ? String(entry.port) : '',
    validateInput: (v) => (v === '' || (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 65535) ? undefined : 'a port, 1-65535'),
  });
  if (port === undefined) return undefined;
  const build = await vscode.window.showQuickPick(
    [{ label: 'remote', detail: 'make runs on the target (it needs its kernel headers and a compiler)' }, { label: 'local', detail: 'build here against the target kernel\'s build dir, copy the .ko' }],
    { title: 'Add SSH Target (4/5): where to build' },
  );
  if (!build) return undefined;
  const kdir = build.label === 'local' ? await askKdir() : undefined;
  if (build.label === 'local' && !kdir) return undefined;
  const name = await vscode.window.showInputBox({
    title: 'Add SSH Target (5/5): name', prompt: 'Shown in the status bar and used by lkm --target', value: alias.replace(/^.*@/, '').replace(/[^\w.-]/g, '-'),
    validateInput: (v) => (/^[\w.-]+$/.test(v) && v !== TEST_VM_TARGET ? undefined : `a word (letters, digits, _ . -), not ${TEST_VM_TARGET}`),
  });
  if (!name) return undefined;
  return { name, host: user ? `${user}@${alias}` : alias, ...(port ? { port: Number(port) } : {}), build: build.label as 'remote' | 'local', ...(kdir ? { kdir } : {}) };
}

async function askKdir(): Promise<string | undefined> {
  const picked = await vscode.window.showOpenDialog({ title: 'The target kernel\'s build dir (with its Module.symvers)', canSelectFolders: true, canSelectFiles: false });
  return picked?.[0]?.fsPath;
}

async function askScope(): Promise<'user' | 'workspace' | undefined> {
  const items: Array<vscode.QuickPickItem & { scope: 'user' | 'workspace' }> = [
    { label: 'User settings', detail: 'every workspace of yours; nothing is written into this repository', scope: 'user' },
    ...(vscode.workspace.workspaceFolders ? [{ label: 'Workspace settings', detail: 'this workspace\'s .vscode/settings.json, shared with whoever uses the repository', scope: 'workspace' as const }] : []),
  ];
  return (await vscode.window.showQuickPick(items, { title: 'Add SSH Target: save it in' }))?.scope;
}

/** Connects as the build loop will; undefined when it works, else why not. */
async function checkConnection(target: TargetConfig): Promise<SshError | Error | undefined> {
  const connection = new SshConnection({ label: target.name, host: target.host, port: target.port }, { controlDir: path.join(tmpdir(), `lkm-add-${process.pid}`), persistSec: 1 });
  try {
    await connection.open();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  } finally {
    await connection.close();
  }
}

/** After a failed check: check and accept the key in OpenSSH's own prompt, save anyway, or stop. */
async function onCheckFailed(target: TargetConfig, problem: Error): Promise<'retry' | 'save' | undefined> {
  const hostKey = problem instanceof SshError && problem.kind === 'host-key';
  const actions = hostKey ? ['Check Key in Terminal', 'Save Anyway'] : ['Save Anyway'];
  const picked = await vscode.window.showWarningMessage(`LKM: ${problem.message}`, { modal: true }, ...actions);
  if (picked === 'Save Anyway') return 'save';
  if (picked !== 'Check Key in Terminal') return undefined;
  // OpenSSH shows the fingerprint and asks; LKM Dev never answers for the user.
  const terminal = vscode.window.createTerminal({ name: `ssh ${target.host}`, shellPath: 'ssh', shellArgs: [...(target.port ? ['-p', String(target.port)] : []), '--', target.host, 'true'] });
  terminal.show();
  await new Promise<void>((resolve) => {
    const closed = vscode.window.onDidCloseTerminal((t) => {
      if (t !== terminal) return;
      closed.dispose();
      resolve();
    });
  });
  return 'retry';
}

/** Appends the target to lkm.targets of that scope (replacing one of the same name) and makes it active there. */
async function save(target: TargetConfig, scope: 'user' | 'workspace'): Promise<void> {
  const lkm = vscode.workspace.getConfiguration('lkm');
  const where = scope === 'user' ? vscode.ConfigurationTarget.Global : vscode.ConfigurationTarget.Workspace;
  const inspected = lkm.inspect<unknown[]>('targets');
  const existing = (scope === 'user' ? inspected?.globalValue : inspected?.workspaceValue) ?? [];
  const kept = existing.filter((t) => !(t && typeof t === 'object' && (t as { name?: unknown }).name === target.name));
  const entry = Object.fromEntries(Object.entries(target).filter(([, v]) => v !== undefined));
  await lkm.update('targets', [...kept, entry], where);
  await lkm.update('activeTarget', target.name, where);
}

export async function addSshTarget(request?: AddTargetRequest): Promise<AddTargetOutcome> {
  const target = request?.target ?? (await askTarget());
  if (!target) return { saved: false };
  validateTargets([target]);
  let problem: Error | undefined;
  for (;;) {
    problem = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `LKM: connecting to ${target.host}…` }, () => checkConnection(target));
    if (!problem) break;
    const next = request ? (request.saveUnverified ? 'save' : undefined) : await onCheckFailed(target, problem);
    if (next === 'save') break;
    if (next !== 'retry') return { saved: false, problem: problem.message };
  }
  const scope = request?.scope ?? (await askScope());
  if (!scope) return { saved: false, problem: problem?.message };
  await save(target, scope);
  const file = scope === 'user' ? 'your user settings' : 'the workspace settings (.vscode/settings.json)';
  void vscode.window.showInformationMessage(`LKM: target ${target.name} (${target.host}) saved in ${file} and made the active target${problem ? ' — the connection check failed' : ', connection checked'}.`);
  return { saved: true, problem: problem?.message };
}

export function activate(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('lkm.addSshTarget', async (request?: AddTargetRequest) => {
      let outcome: AddTargetOutcome | undefined;
      await reportingFailures(async () => {
        outcome = await addSshTarget(request);
      })();
      return outcome;
    }),
  );
}
