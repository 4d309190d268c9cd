// LSP glue: documents in, diagnostics / quick fixes / hovers out. All analysis lives in the engine.
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CodeActionKind, createConnection, DidChangeConfigurationNotification, FileChangeType,
  ProposedFeatures, TextDocuments, TextDocumentSyncKind,
  type Diagnostic, type Hover, type InitializeParams,
} from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { resolveKdir, type KdirChoice } from '../analysis/kernelTarget';
import type { Finding } from '../analysis/model';
import { Analyzer } from '../engine';
import { describeApi } from '../kernel-api/apiDocs';
import { KERNEL_TARGET_NOTIFICATION, TARGET_KERNEL_SETTING, type ActiveTargetKernel, type KernelTargetStatus } from './protocol';
import { ClampedTextDocument } from './documents';
import { codeActionsFor, rulesHover, toDiagnostic } from './findings';
import { LintWorkspace, type ServerSettings } from './workspace';

const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(ClampedTextDocument);
let workspace: LintWorkspace | undefined;
let workspaceFolders: string[] = [];
let configurationSupport = false;
const findingsByFile = new Map<string, Finding[]>();
/** The diagnostics last published per file (as JSON): a module's other files are re-sent only when they change. */
const publishedByFile = new Map<string, string>();

function publish(file: string, diagnostics: Diagnostic[], always = false): void {
  const json = JSON.stringify(diagnostics);
  if (!always && publishedByFile.get(file) === json) return;
  publishedByFile.set(file, json);
  void connection.sendDiagnostics({ uri: pathToFileURL(file).href, diagnostics });
}
const timers = new Map<string, NodeJS.Timeout>();
/** The kernel-target status last sent to the extension (as JSON): sent again only when it changes. */
let kernelTargetSent: string | undefined;
/** Set once the workspace's modules were first indexed (after the first settings). */
let indexed = false;

function toPath(uri: string): string | undefined {
  return uri.startsWith('file:') ? fileURLToPath(uri) : undefined;
}

function isCSource(file: string): boolean {
  return file.endsWith('.c');
}

connection.onInitialize(async (params: InitializeParams) => {
  configurationSupport = !!params.capabilities.workspace?.configuration;
  workspaceFolders = (params.workspaceFolders ?? []).map((f) => toPath(f.uri)).filter((p): p is string => !!p);
  if (workspaceFolders.length === 0 && params.rootUri) {
    const root = toPath(params.rootUri);
    if (root) workspaceFolders.push(root);
  }
  workspace = new LintWorkspace(await Analyzer.create({ incremental: true }), (message) => connection.console.log(message));
  return {
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
      hoverProvider: true,
    },
  };
});

connection.onInitialized(async () => {
  if (configurationSupport) await connection.client.register(DidChangeConfigurationNotification.type, { section: 'lkm' });
  await applySettings();
  indexWorkspace();
  relintOpenDocuments();
});

function indexWorkspace(): void {
  indexed = true;
  try {
    workspace?.indexFolders(workspaceFolders);
  } catch (error) {
    connection.console.error(`indexing the workspace failed: ${(error as Error).message}`);
  }
}

interface LkmSettings {
  kdir?: string;
  [TARGET_KERNEL_SETTING]?: ActiveTargetKernel;
  lint?: { enable?: boolean; debounceMs?: number; severity?: ServerSettings['severity'] };
}

async function readSettings(): Promise<{ settings: ServerSettings; kdir: KdirChoice }> {
  const lkm = configurationSupport ? ((await connection.workspace.getConfiguration('lkm')) as LkmSettings | null) : null;
  const kdir = resolveKdir({ explicit: lkm?.kdir || undefined, target: lkm?.[TARGET_KERNEL_SETTING] });
  const settings: ServerSettings = { kdir: kdir.kdir, enable: lkm?.lint?.enable ?? true, debounceMs: lkm?.lint?.debounceMs ?? 150 };
  if (lkm) settings.severity = lkm.lint?.severity ?? {};
  return { settings, kdir };
}

async function applySettings(): Promise<void> {
  if (!workspace) return;
  const { settings, kdir } = await readSettings();
  // Which modules are built in depends on the target's configuration.
  if (workspace.configure(settings) && indexed) indexWorkspace();
  reportKernelTarget(kdir);
}

/** Tells the extension which kernel the linter checks against, or why none: once per change. */
function reportKernelTarget(choice: KdirChoice): void {
  const release = workspace?.kernelTarget?.release;
  const error = workspace?.targetError;
  const status: KernelTargetStatus = { ...choice, ...(release ? { release } : {}), ...(error ? { problem: error } : {}) };
  const json = JSON.stringify(status);
  if (json === kernelTargetSent) return;
  kernelTargetSent = json;
  connection.console.log(status.problem ? `no target kernel (${status.source}): ${status.problem}` : `target kernel from ${status.source}: ${status.kdir}`);
  void connection.sendNotification(KERNEL_TARGET_NOTIFICATION, status);
}

function relintOpenDocuments(): void {
  for (const document of documents.all()) schedule(document, 0);
}

function schedule(document: TextDocument, delay = workspace?.settings.debounceMs ?? 150): void {
  const file = toPath(document.uri);
  if (!file || !isCSource(file)) return;
  clearTimeout(timers.get(file));
  timers.set(file, setTimeout(() => {
    timers.delete(file);
    lintNow(file);
  }, delay));
}

function lintNow(file: string): void {
  if (!workspace) return;
  const started = performance.now();
  const document = documents.get(pathToFileURL(file).href);
  if (document) workspace.openOrChange(file, document.getText());
  try {
    const analysed = performance.now();
    const results = workspace.lintModuleOf(file);
    for (const [member, findings] of results) {
      findingsByFile.set(member, findings);
      // The edited file always gets an answer, even an unchanged one: it says the lint caught up.
      publish(member, findings.map(toDiagnostic), member === file);
    }
    const done = performance.now();
    connection.console.log(`linted ${path.basename(file)}'s module (${results.size} file(s)) in ${(done - started).toFixed(1)} ms (the edit ${(analysed - started).toFixed(1)} ms, the module ${(done - analysed).toFixed(1)} ms)`);
  } catch (error) {
    // The server must survive anything a document contains: log and keep serving.
    connection.console.error(`lint of ${file} failed: ${(error as Error).stack ?? error}`);
  }
}

documents.onDidOpen((event) => schedule(event.document, 0));
documents.onDidChangeContent((event) => schedule(event.document));
documents.onDidClose((event) => {
  const file = toPath(event.document.uri);
  if (!file) return;
  workspace?.close(file);
  // Module-level findings of a closed file stay meaningful; only drop what the file alone produced.
  if (!isCSource(file)) return;
  findingsByFile.delete(file);
  publish(file, [], true);
});

connection.onDidChangeConfiguration(async () => {
  await applySettings();
  relintOpenDocuments();
});

connection.onDidChangeWatchedFiles((params) => {
  let moduleLayoutChanged = false;
  for (const change of params.changes) {
    const file = toPath(change.uri);
    if (!file) continue;
    if (/(^|\/)(Kbuild|Makefile|Kconfig)$/.test(file)) moduleLayoutChanged = true;
    else workspace?.fileChangedOnDisk(file);
    if (change.type === FileChangeType.Deleted) publish(file, [], true);
  }
  if (moduleLayoutChanged) {
    workspace?.forgetModuleLayout();
    workspace?.indexFolders(workspaceFolders);
  }
  relintOpenDocuments();
});

connection.onCodeAction((params) => {
  const file = toPath(params.textDocument.uri);
  const document = documents.get(params.textDocument.uri);
  if (!file || !document) return [];
  const lineText = (line: number) => line < 0 || line >= document.lineCount ? undefined : document.getText({ start: { line, character: 0 }, end: { line, character: Number.MAX_SAFE_INTEGER } }).replace(/\r?\n$/, '');
  return (findingsByFile.get(file) ?? []).filter((finding) => overlaps(finding.range, params.range)).flatMap((finding) => codeActionsFor(finding, lineText));
});

function overlaps(a: Finding['range'], b: Finding['range']): boolean {
  const before = (p: { line: number; character: number }, q: { line: number; character: number }) => p.line < q.line || (p.line === q.line && p.character < q.character);
  return !before(a.end, b.start) && !before(b.end, a.start);
}

connection.onHover((params): Hover | null => {
  const document = documents.get(params.textDocument.uri);
  if (!document) return null;
  const text = document.getText();
  const offset = document.offsetAt(params.position);
  let start = offset;
  let end = offset;
  while (start > 0 && /\w/.test(text[start - 1]!)) start--;
  while (end < text.length && /\w/.test(text[end]!)) end++;
  const word = text.slice(start, end);
  const docs = word ? describeApi(word) : undefined;
  const file = toPath(params.textDocument.uri);
  const rules = file ? rulesHover(findingsByFile.get(file) ?? [], params.position) : undefined;
  if (!docs && !rules) return null;
  const value = [docs, rules].filter(Boolean).join('\n\n---\n\n');
  return { contents: { kind: 'markdown', value }, ...(docs ? { range: { start: document.positionAt(start), end: document.positionAt(end) } } : {}) };
});

connection.onShutdown(() => {
  for (const timer of timers.values()) clearTimeout(timer);
  workspace?.dispose();
});

process.on('uncaughtException', (error) => connection.console.error(`uncaught: ${error.stack ?? error}`));

documents.listen(connection);
connection.listen();
