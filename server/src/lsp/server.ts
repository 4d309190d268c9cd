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

/** When this code started running, in ms since the process started (node's own start-up before it). */
const loadedAt = performance.now();
// The parser's wasm compiles while the client sets up and sends `initialize`.
const analyzerReady = Analyzer.create({ incremental: true });
const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(ClampedTextDocument);
let workspace: LintWorkspace | undefined;
let workspaceFolders: string[] = [];
let configurationSupport = false;
const findingsByFile = new Map<string, Finding[]>();
/** The diagnostics last published per file (as JSON): a module's other files are re-sent only when they change. */
const publishedByFile = new Map<string, string>();

/** Sends a file's diagnostics unless they are those last sent; resolves once written to the client. */
function publish(file: string, diagnostics: Diagnostic[], always = false): Promise<void> {
  const json = JSON.stringify(diagnostics);
  if (!always && publishedByFile.get(file) === json) return Promise.resolve();
  publishedByFile.set(file, json);
  return connection.sendDiagnostics({ uri: pathToFileURL(file).href, diagnostics });
}
const timers = new Map<string, NodeJS.Timeout>();
/** The kernel-target status last sent to the extension (as JSON): sent again only when it changes. */
let kernelTargetSent: string | undefined;
/** Set once the first settings are applied: documents opened before are linted then, with them. */
let settingsKnown = false;
/** Set once a lint used the target kernel: the start-up log ends there. */
let startupLogged = false;
let startupSteps = '';

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
  const initializeAt = performance.now();
  workspace = new LintWorkspace(await analyzerReady, (message) => connection.console.log(message));
  startupSteps = `code loaded at ${loadedAt.toFixed(0)} ms, initialize at ${initializeAt.toFixed(0)} ms, parser ready at ${sinceStart()}`;
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
  const { kdir } = await applySettings();
  settingsKnown = true;
  logStartup(`settings known (${startupSteps})`);
  // The first answer: the open documents (the client sent them before its answers to the requests
  // above), linted with what is ready, and written out before the kdir's load blocks this thread.
  await lintOpenDocumentsNow();
  completeTarget(kdir);
});

/** Lints every open document at once; resolves when their diagnostics are written. */
async function lintOpenDocumentsNow(): Promise<void> {
  await Promise.all(documents.all().map((document) => lintNow(toPath(document.uri) ?? '')));
}

/** Loads the kdir `applySettings` left pending (if any), then indexes the workspace's modules and lints everything again. */
function completeTarget(kdir: KdirChoice): void {
  if (!workspace) return;
  const started = performance.now();
  if (workspace.loadTarget()) logStartup(`target kernel loaded in ${(performance.now() - started).toFixed(0)} ms`);
  reportKernelTarget(kdir);
  // Which modules are built in depends on the target's configuration.
  indexWorkspace();
  relintOpenDocuments();
}

/** Milliseconds since this process started, for the start-up log. */
function sinceStart(): string {
  return `${performance.now().toFixed(0)} ms`;
}

/** Start-up steps, logged until the first lint with the target kernel (then the server is up to speed). */
function logStartup(step: string): void {
  if (!startupLogged) connection.console.log(`start-up: ${step} at ${sinceStart()} after the server started`);
}

function indexWorkspace(): void {
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

/**
 * Applies the settings; `targetChanged`: the kdir changed, and the caller lints with what is ready
 * before `completeTarget` loads it.
 */
async function applySettings(): Promise<{ kdir: KdirChoice; targetChanged: boolean }> {
  const { settings, kdir } = await readSettings();
  const targetChanged = workspace?.configure(settings) ?? false;
  if (!targetChanged) reportKernelTarget(kdir);
  return { kdir, targetChanged };
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
  if (!file || !isCSource(file) || !settingsKnown) return;
  clearTimeout(timers.get(file));
  timers.set(file, setTimeout(() => {
    timers.delete(file);
    void lintNow(file);
  }, delay));
}

/** Lints the module of `file` and publishes its files' diagnostics; resolves once they are written. */
function lintNow(file: string): Promise<unknown> {
  if (!workspace || !isCSource(file)) return Promise.resolve();
  const started = performance.now();
  const document = documents.get(pathToFileURL(file).href);
  if (document) workspace.openOrChange(file, document.getText());
  try {
    const analysed = performance.now();
    const results = workspace.lintModuleOf(file);
    const sent: Array<Promise<void>> = [];
    for (const [member, findings] of results) {
      findingsByFile.set(member, findings);
      // The edited file always gets an answer, even an unchanged one: it says the lint caught up.
      sent.push(publish(member, findings.map(toDiagnostic), member === file));
    }
    const done = performance.now();
    const changedAt = changeArrivedAt.get(file);
    changeArrivedAt.delete(file);
    const written = Promise.all(sent).then(() => {
      // From the change's arrival: the debounce, the lint, and the diagnostics' encoding and writing.
      const total = changedAt === undefined ? '' : `; ${(performance.now() - changedAt).toFixed(1)} ms from the change to the diagnostics written`;
      connection.console.log(`linted ${path.basename(file)}'s module (${results.size} file(s)) in ${(done - started).toFixed(1)} ms (the edit ${(analysed - started).toFixed(1)} ms, the module and its diagnostics ${(done - analysed).toFixed(1)} ms${total})`);
    });
    logStartup(`diagnostics of ${path.basename(file)} published ${workspace.kernelTarget ? 'with' : 'without'} the target kernel`);
    startupLogged ||= !!workspace.kernelTarget || !workspace.hasPendingTarget;
    return written;
  } catch (error) {
    // The server must survive anything a document contains: log and keep serving.
    connection.console.error(`lint of ${file} failed: ${(error as Error).stack ?? error}`);
    return Promise.resolve();
  }
}

documents.onDidOpen((event) => schedule(event.document, 0));
/** When the last change of each file arrived (for the lint's log). */
const changeArrivedAt = new Map<string, number>();
documents.onDidChangeContent((event) => {
  const file = toPath(event.document.uri);
  if (file && !changeArrivedAt.has(file)) changeArrivedAt.set(file, performance.now());
  schedule(event.document);
});
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
  const { kdir, targetChanged } = await applySettings();
  if (!targetChanged) return relintOpenDocuments();
  await lintOpenDocumentsNow();
  completeTarget(kdir);
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
