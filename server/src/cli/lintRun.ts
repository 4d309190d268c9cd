// Lints whole modules from disk: shared by the CLI's main thread and its worker threads.
import type { KernelTarget } from '../analysis/kernelTarget';
import type { ModuleSpec } from '../analysis/kbuild';
import type { Finding } from '../analysis/model';
import { Analyzer, preprocessorEnv, readSource, SourceRejected, type LintSettings } from '../engine';
import type { AnalyzedFile, WorkspaceSymbolIndex } from '../rules/rule';
import { isKernelSource, kbuildViewOf } from '../analysis/sourceKind';

export interface FileProblem {
  file: string;
  message: string;
}

export interface ModuleResult {
  findings: Finding[];
  problems: FileProblem[];
  files: number;
  bytes: number;
  /** Files left out as not kernel code (a userspace program, plain C): see sourceKind. */
  notKernel: number;
}

export function lintModuleFromDisk(
  analyzer: Analyzer, module: ModuleSpec, target: KernelTarget | undefined, workspace: WorkspaceSymbolIndex, settings: LintSettings,
): ModuleResult {
  const result: ModuleResult = { findings: [], problems: [], files: 0, bytes: 0, notKernel: 0 };
  const kbuild = kbuildViewOf(module);
  const analyzed: AnalyzedFile[] = [];
  try {
    for (const path of module.files) {
      let text: string;
      try {
        text = readSource(path);
      } catch (error) {
        result.problems.push({ file: path, message: error instanceof SourceRejected ? error.message : `cannot read: ${(error as Error).message}` });
        continue;
      }
      if (!isKernelSource(path, text, kbuild)) {
        result.notKernel++;
        continue;
      }
      result.files++;
      result.bytes += text.length;
      try {
        analyzed.push(analyzer.analyze(analyzer.parse(path, text, preprocessorEnv(target, path, text))));
      } catch (error) {
        result.problems.push({ file: path, message: `internal error while analysing (please report): ${(error as Error).stack ?? error}` });
      }
    }
    if (analyzed.length > 0) result.findings = analyzer.lintModule(module, analyzed, target, workspace, settings);
  } finally {
    // web-tree-sitter trees live in wasm memory: free them as soon as the module is done.
    for (const file of analyzed) file.parsed.tree.delete();
  }
  return result;
}
