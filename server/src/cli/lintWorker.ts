// A worker thread of `lkm-lint`: loads the parser and the kdir while the main thread discovers the
// modules, then lints the modules the main thread sends, one at a time, in the order sent.
import { parentPort, workerData } from 'node:worker_threads';
import { loadKernelTarget } from '../analysis/kernelTarget';
import type { ModuleSpec } from '../analysis/kbuild';
import { Analyzer, type LintSettings } from '../engine';
import type { WorkspaceSymbolIndex } from '../rules/rule';
import { lintModuleFromDisk } from './lintRun';

export interface WorkerInit {
  kdir?: string;
  settings: LintSettings;
}

/** What the main thread sends: the workspace's definitions (first, once), a module to lint, or null: exit. */
export type WorkerRequest = { workspace: WorkspaceEntries } | { module: ModuleSpec } | null;
export type WorkspaceEntries = Array<[string, ReturnType<WorkspaceSymbolIndex['definitionsOf']>]>;

async function main(): Promise<void> {
  const init = workerData as WorkerInit;
  // Messages sent meanwhile wait in the port's queue.
  const analyzer = await Analyzer.create();
  const target = init.kdir ? loadKernelTarget(init.kdir) : undefined;
  let definitions = new Map<string, ReturnType<WorkspaceSymbolIndex['definitionsOf']>>();
  const workspace: WorkspaceSymbolIndex = { definitionsOf: (name) => definitions.get(name) ?? [] };
  parentPort!.on('message', (request: WorkerRequest) => {
    if (request === null) process.exit(0);
    if ('workspace' in request) {
      definitions = new Map(request.workspace);
      return;
    }
    // Nodes are not transferable; findings are plain data already.
    parentPort!.postMessage(lintModuleFromDisk(analyzer, request.module, target, workspace, init.settings));
  });
}

void main();
