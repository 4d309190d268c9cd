// The language server's view of the user's modules: open documents (re-parsed incrementally on every
// change), their module's other files (read from disk, cached by mtime), the module grouping from Kbuild,
// and the target kernel. Linting a document lints its whole module, because module-level rules
// (MODULE_LICENSE, exports, the call graph) depend on every file of it.
import * as fs from 'node:fs';
import { Edit, type Tree } from 'web-tree-sitter';
import { headerSleepingApis } from '../analysis/headerSleep';
import { loadKernelTarget, type KernelTarget } from '../analysis/kernelTarget';
import { forgetMacroScopes } from '../analysis/macroScope';
import { discoverModules, forgetLocalHeaders, isBuiltIn, moduleOf as kbuildModuleOf, type ModuleSpec, type ReadFile } from '../analysis/kbuild';
import type { Finding } from '../analysis/model';
import { Analyzer, MAX_FILE_BYTES, preprocessorEnv, binaryReason, readSource, SourceRejected, TextWorkspaceIndex, type LintSettings } from '../engine';
import { renormalize, type NormalizedSource, type TextChange } from '../parsing/normalize';
import { positionAt } from '../analysis/model';
import { FileRefused, findSources, readTextIfPresent } from '../sources';
import { isKernelSource, kbuildViewOf } from '../analysis/sourceKind';
import type { SummaryMemo } from '../analysis/lockSummaries';
import type { AnalyzedFile } from '../rules/rule';

export interface ServerSettings extends LintSettings {
  /** The kernel build dir to lint against, as resolveKdir chose it; none: export checks are off. */
  kdir?: string;
  enable: boolean;
  debounceMs: number;
}

interface FileState {
  text: string;
  open: boolean;
  mtimeMs?: number;
  analyzed?: AnalyzedFile;
  /** Why the file is not linted (binary, too large). */
  rejected?: string;
}

export class LintWorkspace {
  private readonly files = new Map<string, FileState>();
  private target: KernelTarget | undefined;
  private targetKey: string | undefined;
  private targetPending = false;
  /** What is wrong with the target kernel, for the user (shown once): it could not be loaded, or its exports are not checked. */
  targetError: string | undefined;
  private workspaceIndex = new TextWorkspaceIndex();
  /** Module of each file, until the layout on disk changes. */
  private readonly modules = new Map<string, ModuleSpec>();
  /** Files analysed afresh since their module was last linted. */
  private readonly freshlyAnalyzed = new Set<string>();
  /** Per module (by Kbuild dir and name): the lock-helper summaries of its last lint. */
  private readonly summaryMemos = new Map<string, SummaryMemo>();
  settings: ServerSettings = { enable: true, debounceMs: 150 };
  /** Files not read (a FIFO, a link to /dev/zero, too large), logged once each. */
  private readonly refusalsLogged = new Set<string>();
  /** Reads Kbuild files, Makefiles and their includes for module discovery, logging what it refuses. */
  private readonly readBuildFile: ReadFile = (file) => readTextIfPresent(file, MAX_FILE_BYTES, (refusal) => this.logRefusal(refusal));

  constructor(private readonly analyzer: Analyzer, private readonly log: (message: string) => void) {}

  /**
   * Applies settings; returns true when the target kernel changed (everything must be re-linted). A new
   * kdir is not loaded here but by `loadTarget`, so that the server can answer first with what is ready:
   * until then, files are linted without a target (export checks off).
   */
  configure(settings: ServerSettings): boolean {
    this.settings = settings;
    const kdir = settings.kdir;
    // A kdir that failed to load is tried again: its headers may have been installed since.
    if (kdir === this.targetKey && !this.targetError) return false;
    this.targetKey = kdir;
    this.targetPending = kdir !== undefined;
    this.setTarget(undefined, undefined);
    return true;
  }

  /** Whether a kdir was configured and `loadTarget` has not loaded it yet. */
  get hasPendingTarget(): boolean {
    return this.targetPending;
  }

  /**
   * Loads the configured kdir (Module.symvers, the header index and the sleeping APIs its headers
   * derive, from their caches when the kdir did not change); returns true when it loaded one or failed
   * to (everything must be re-linted). Hundreds of ms from the caches, seconds without.
   */
  loadTarget(): boolean {
    const kdir = this.targetKey;
    if (!this.targetPending || !kdir) return false;
    this.targetPending = false;
    try {
      const target = loadKernelTarget(kdir);
      // Derived on the first lint otherwise: a keystroke would wait for it.
      headerSleepingApis(target);
      this.log(`target kernel: ${target.release ?? kdir}`);
      // Loaded, but its export list is unusable: say why exports are not checked.
      this.setTarget(target, target.exportsUnchecked ? `LKM: ${target.exportsUnchecked}.` : undefined);
    } catch (error) {
      this.setTarget(undefined, `cannot use ${kdir}: ${(error as Error).message}`);
    }
    return true;
  }

  private setTarget(target: KernelTarget | undefined, error: string | undefined): void {
    this.target = target;
    this.targetError = error;
    // The target decides which #if branches are live: every tree is stale; its .config decides the
    // Makefiles' conditionals: every module grouping too.
    for (const state of this.files.values()) this.dropAnalysis(state);
    this.modules.clear();
    this.summaryMemos.clear();
  }

  get kernelTarget(): KernelTarget | undefined {
    return this.target;
  }

  /** Indexes non-static definitions of the workspace's modules (for unexported-symbol across modules). */
  indexFolders(folders: string[], limit = 5000): void {
    const index = new TextWorkspaceIndex();
    const skipped: FileRefused[] = [];
    const sources = folders.flatMap((folder) => findSources(folder, { depth: 6, limit, skipped }));
    for (const refusal of skipped) this.logRefusal(refusal);
    for (const module of discoverModules(sources, this.readBuildFile, this.target?.config)) {
      for (const file of module.files) {
        // Vanished, unreadable or refused (too large, not a regular file): nothing to index.
        const text = readTextIfPresent(file, MAX_FILE_BYTES, undefined, 'latin1');
        // A userspace program's definitions are nothing a module could link against.
        if (text !== undefined && isKernelSource(file, text, kbuildViewOf(module))) index.addModuleFile(module.name, file, text, isBuiltIn(module, this.target?.config));
      }
    }
    this.workspaceIndex = index;
  }

  openOrChange(file: string, text: string): void {
    const state = this.files.get(file);
    if (!state) {
      this.files.set(file, { text, open: true });
      return;
    }
    state.open = true;
    if (state.text === text) return;
    this.reparse(file, state, text);
  }

  close(file: string): void {
    const state = this.files.get(file);
    if (!state) return;
    state.open = false;
    // Keep it only as a module sibling read from disk from now on.
    this.dropAnalysis(state);
    this.files.delete(file);
  }

  /** A file changed on disk (or a Kbuild): forget what was read from disk. */
  fileChangedOnDisk(file: string): void {
    this.modules.clear();
    forgetLocalHeaders();
    forgetMacroScopes();
    const state = this.files.get(file);
    if (state && !state.open) {
      this.dropAnalysis(state);
      this.files.delete(file);
    }
  }

  isOpen(file: string): boolean {
    return this.files.get(file)?.open ?? false;
  }

  /**
   * The module a file belongs to. Reading the directory and its Kbuild on every keystroke would cost
   * more than the lint itself: the answer is kept until files or a Kbuild change on disk.
   */
  moduleOf(file: string): ModuleSpec {
    let module = this.modules.get(file);
    if (!module) {
      module = kbuildModuleOf(file, this.readBuildFile, this.target?.config);
      this.modules.set(file, module);
    }
    return module;
  }

  /** Files were created, deleted or changed on disk, or a Kbuild changed: module membership may differ. */
  forgetModuleLayout(): void {
    this.modules.clear();
  }

  /** Lints the module of `file`; returns the findings of every file of that module (empty arrays included). */
  lintModuleOf(file: string): Map<string, Finding[]> {
    const module = this.moduleOf(file);
    const result = new Map<string, Finding[]>(module.files.map((f) => [f, []]));
    if (!this.settings.enable) return result;
    const analyzed: AnalyzedFile[] = [];
    const kbuild = kbuildViewOf(module);
    for (const member of module.files) {
      const state = this.load(member);
      if (state?.rejected && state.open) {
        result.get(member)!.push({
          rule: 'lkm', severity: 'info', file: member, message: `LKM: ${state.rejected}`,
          range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
        });
      }
      // Kernel rules say nothing of a userspace program (decided from the text as it is now).
      if (state?.analyzed && isKernelSource(member, state.text, kbuild)) analyzed.push(state.analyzed);
    }
    if (analyzed.length === 0) return result;
    const key = `${module.dir}\0${module.name}`;
    const memo: SummaryMemo = { fingerprint: this.summaryMemos.get(key)?.fingerprint, dirty: new Set(module.files.filter((f) => this.freshlyAnalyzed.has(f))) };
    for (const finding of this.analyzer.lintModule(module, analyzed, this.target, this.workspaceIndex, this.settings, memo)) {
      result.get(finding.file)?.push(finding);
    }
    this.summaryMemos.set(key, memo);
    for (const file of module.files) this.freshlyAnalyzed.delete(file);
    return result;
  }

  private logRefusal(refusal: FileRefused): void {
    if (this.refusalsLogged.has(refusal.file)) return;
    this.refusalsLogged.add(refusal.file);
    this.log(`${refusal.file}: not read: ${refusal.reason}`);
  }

  private load(file: string): FileState | undefined {
    let state = this.files.get(file);
    if (state && !state.open) {
      // A sibling from disk: re-read when it changed or vanished.
      const cached = state;
      const mtimeMs = fs.existsSync(file) ? fs.statSync(file).mtimeMs : undefined;
      if (mtimeMs !== cached.mtimeMs) {
        this.dropAnalysis(cached);
        this.files.delete(file);
        state = undefined;
        if (mtimeMs === undefined) return undefined;
      }
    }
    if (!state) {
      try {
        state = { text: '', open: false, mtimeMs: fs.statSync(file).mtimeMs };
        state.text = readSource(file);
      } catch (error) {
        if (!state || !(error instanceof SourceRejected)) return undefined;
        state.rejected = error.message;
      }
      this.files.set(file, state);
    }
    if (!state.analyzed && !state.rejected) {
      if (state.text.length > MAX_FILE_BYTES) {
        state.rejected = `not linted: ${(state.text.length / 1048576).toFixed(1)} MB is over the ${MAX_FILE_BYTES / 1048576} MB limit`;
        return state;
      }
      state.rejected = binaryReason(state.text);
      if (state.rejected) return state;
      try {
        state.analyzed = this.analyzer.analyze(this.analyzer.parse(file, state.text, preprocessorEnv(this.target, file, state.text)));
        this.freshlyAnalyzed.add(file);
      } catch (error) {
        this.log(`analysis of ${file} failed: ${(error as Error).stack ?? error}`);
      }
    }
    return state;
  }

  /**
   * Re-analyses after an edit, in proportion to the edit: the normaliser and the symbol scan resume
   * near it, and tree-sitter reuses the old tree for the unchanged parts of the normalised text.
   */
  private reparse(file: string, state: FileState, text: string): void {
    const previous = state.analyzed;
    const old = previous?.parsed;
    state.text = text;
    state.rejected = undefined;
    if (!previous || !old || text.length > MAX_FILE_BYTES || binaryReason(text)) {
      this.dropAnalysis(state);
      return;
    }
    try {
      const { normalized, window } = renormalize(old.normalized, text, changeBetween(old.text, text), preprocessorEnv(this.target, file, text));
      const tree: Tree = old.tree;
      tree.edit(treeEdit(old.normalized, normalized, window));
      const parsed = this.analyzer.parseNormalized(file, text, normalized, tree);
      tree.delete();
      state.analyzed = this.analyzer.reanalyze(previous, parsed, window);
      this.freshlyAnalyzed.add(file);
    } catch (error) {
      this.log(`incremental analysis of ${file} failed: ${(error as Error).stack ?? error}`);
      state.analyzed = undefined;
    }
  }

  private dropAnalysis(state: FileState): void {
    state.analyzed?.parsed.tree.delete();
    state.analyzed = undefined;
  }

  dispose(): void {
    for (const state of this.files.values()) this.dropAnalysis(state);
    this.files.clear();
  }
}

/** The single change that turns `before` into `after` (common prefix and suffix kept). */
export function changeBetween(before: string, after: string, within: TextChange = { start: 0, oldEnd: before.length, newEnd: after.length }): TextChange {
  // Skip equal blocks with native string comparison, then finish character by character.
  const BLOCK = 4096;
  let start = within.start;
  const min = Math.min(within.oldEnd, within.newEnd);
  while (start + BLOCK <= min && before.slice(start, start + BLOCK) === after.slice(start, start + BLOCK)) start += BLOCK;
  while (start < min && before.charCodeAt(start) === after.charCodeAt(start)) start++;
  let oldEnd = within.oldEnd;
  let newEnd = within.newEnd;
  while (oldEnd - BLOCK >= start && newEnd - BLOCK >= start && before.slice(oldEnd - BLOCK, oldEnd) === after.slice(newEnd - BLOCK, newEnd)) {
    oldEnd -= BLOCK;
    newEnd -= BLOCK;
  }
  while (oldEnd > start && newEnd > start && before.charCodeAt(oldEnd - 1) === after.charCodeAt(newEnd - 1)) {
    oldEnd--;
    newEnd--;
  }
  return { start, oldEnd, newEnd };
}

/** The tree-sitter edit that turns `before` into `after`, which differ only inside `window`. */
export function treeEdit(before: NormalizedSource, after: NormalizedSource, window: TextChange = { start: 0, oldEnd: before.text.length, newEnd: after.text.length }): Edit {
  const { start, oldEnd, newEnd } = changeBetween(before.text, after.text, window);
  const point = (source: NormalizedSource, offset: number) => {
    const { line, character } = positionAt({ text: source.text, normalized: source }, offset);
    return { row: line, column: character };
  };
  return new Edit({
    startIndex: start,
    oldEndIndex: oldEnd,
    newEndIndex: newEnd,
    startPosition: point(before, start),
    oldEndPosition: point(before, oldEnd),
    newEndPosition: point(after, newEnd),
  });
}
