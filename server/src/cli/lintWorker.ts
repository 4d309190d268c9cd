// A worker thread of `lkm-lint`: lints the modules the main thread sends, one at a time.
import { parentPort, workerData } from 'node:worker_threads';
import { loadKernelTarget } from '../analysis/kernelTarget';
import type { ModuleSpec } from '../analysis/kbuild';
import { Analyzer, type LintSettings } from '../engine';
import type { WorkspaceSymbolIndex } from '../rules/rule';
import { lintModuleFromDisk } from './lintRun';

export interface WorkerInit {
  kdir?: string;
  settings: LintSettings;
  workspace: Array<[string, ReturnType<WorkspaceSymbolIndex['definitionsOf']>]>;
}

async function main(): Promise<void> {
  const init = workerData as WorkerInit;
  const analyzer = await Analyzer.create();
  const target = init.kdir ? loadKernelTarget(init.kdir) : undefined;
  const definitions = new Map(init.workspace);
  const workspace: WorkspaceSymbolIndex = { definitionsOf: (name) => definitions.get(name) ?? [] };
  parentPort!.on('message', (module: ModuleSpec | null) => {
    if (module === null) {
      process.exit(0);
    }
    const result = lintModuleFromDisk(analyzer, module, target, workspace, init.settings);
    // Nodes are not transferable; findings are plain data already.
    parentPort!.postMessage(result);
  });
  parentPort!.postMessage('ready');
}

void main();
