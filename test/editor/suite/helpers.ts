// Shared by the extension-host suites: locating the extension and the fixture workspace, and
// waiting for asynchronous editor state (activation, diagnostics) with a deadline and a clear reason.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';

export const EXTENSION_ID = 'lkm-dev.lkm-dev';

export function lkmExtension(): vscode.Extension<unknown> {
  const extension = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(extension, `extension ${EXTENSION_ID} is not loaded (is --extensionDevelopmentPath the repository?)`);
  return extension;
}

export function workspaceRoot(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'no workspace folder is open: the runner opens a copy of test/editor/workspace');
  return folder.uri.fsPath;
}

export function fixtureUri(relativePath: string): vscode.Uri {
  return vscode.Uri.file(path.join(workspaceRoot(), relativePath));
}

export async function openFixture(relativePath: string): Promise<vscode.TextEditor> {
  const document = await vscode.workspace.openTextDocument(fixtureUri(relativePath));
  return vscode.window.showTextDocument(document);
}

/** Polls `probe` until it returns a value other than undefined, or fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export function lkmDiagnostics(uri: vscode.Uri): vscode.Diagnostic[] {
  return vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'lkm');
}

export function ruleId(diagnostic: vscode.Diagnostic): string {
  const code = diagnostic.code;
  return String(typeof code === 'object' && code !== null ? code.value : code);
}

/** The 0-based line of the first line containing `text`; fails when the fixture has no such line. */
export function lineOf(document: vscode.TextDocument, text: string): number {
  const index = document.getText().split('\n').findIndex((line) => line.includes(text));
  assert.ok(index >= 0, `${document.uri.fsPath} has no line containing ${JSON.stringify(text)}`);
  return index;
}

/** Waits until the server has published a diagnostic of `rule` on the document, and returns it. */
export async function waitForRule(uri: vscode.Uri, rule: string, timeoutMs = 30_000): Promise<vscode.Diagnostic> {
  return waitFor(
    `a ${rule} diagnostic on ${path.basename(uri.fsPath)} (have: ${describe(uri)})`,
    () => lkmDiagnostics(uri).find((d) => ruleId(d) === rule),
    timeoutMs,
  );
}

export async function waitForRuleGone(uri: vscode.Uri, rule: string, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    `the ${rule} diagnostic on ${path.basename(uri.fsPath)} to go away`,
    () => (lkmDiagnostics(uri).some((d) => ruleId(d) === rule) ? undefined : true),
    timeoutMs,
  );
}

function describe(uri: vscode.Uri): string {
  const diagnostics = lkmDiagnostics(uri);
  return diagnostics.length ? diagnostics.map((d) => `${ruleId(d)}@${d.range.start.line + 1}`).join(', ') : 'none';
}

export async function activeExtension(): Promise<vscode.Extension<unknown>> {
  const extension = lkmExtension();
  await waitFor('the extension to activate', () => (extension.isActive ? true : undefined));
  return extension;
}
