// What a rule is: a stable id, its documentation, a default severity and a check over one module.
// One file per rule in this folder; rules/index.ts lists them.
import type { FunctionAnalysis } from '../analysis/functionAnalysis';
import type { KernelTarget } from '../analysis/kernelTarget';
import type { ModuleSpec } from '../analysis/kbuild';
import type { Finding, ParsedFile, Severity } from '../analysis/model';
import type { ModuleCallGraph } from '../analysis/callGraph';
import type { FileSymbols } from '../analysis/symbols';

export interface AnalyzedFile {
  parsed: ParsedFile;
  symbols: FileSymbols;
  functions: FunctionAnalysis[];
}

/** Where each non-static symbol is defined across the workspace's modules, and whether it is exported. */
export interface WorkspaceSymbolIndex {
  definitionsOf(name: string): Array<{ module: string; file: string; exported: boolean; gplOnly: boolean; builtIn: boolean }>;
}

export interface ModuleContext {
  module: ModuleSpec;
  files: AnalyzedFile[];
  callGraph: ModuleCallGraph;
  /** The target kernel, when a kdir is configured or found. */
  target?: KernelTarget;
  workspace: WorkspaceSymbolIndex;
}

export type Report = Omit<Finding, 'rule' | 'severity'> & { severity?: Severity };

export interface Rule {
  id: string;
  docs: {
    /** One line, shown in hovers and the README table. */
    summary: string;
    /** What is reported, why it matters, and how to fix it. */
    description: string;
  };
  defaultSeverity: Severity;
  check(context: ModuleContext, report: (finding: Report) => void): void;
}
