// The one-click loop: (start the test VM if needed) → sync → build → reload → kernel log of this
// load. Shared by "LKM: Build and Load", the `lkm` task type and `lkm run`.
import path from 'node:path';
import { guestKernelVersion, kernelBuildDir } from '../guest/image';
import { guestConnection, restartGuest } from '../guest/vm';
import { TEST_VM_TARGET, type TargetConfig } from './config';
import { CancelledError } from './process';
import { formatProblem, relativePath, type Problem } from './problems';
import { build, buildLocally, insmodArguments, listSources, markGuestUse, releaseGuestUse, selectModules, loadModules, openTarget, step, uploadModules, StepError, type BuildResult, type BuiltModule, type LoadResult, type OpenOptions, type Target } from './session';
import { ParamError, type ParamValue } from './params';

/** `lkm run` exit codes (also the loop's outcome kinds). */
export const EXIT = {
  loaded: 0,
  buildFailed: 1,
  usage: 2,
  loadFailed: 3,
  kernelError: 4,
  targetError: 5,
  cancelled: 130,
} as const;

export interface LoopOptions extends OpenOptions {
  params?: Record<string, ParamValue[]>;
  /** Load only these of the folder's modules (with the ones they depend on); default all. */
  modules?: string[];
  /** Reuse an already opened target (the extension keeps one per active target). */
  target?: Target;
}

export interface LoopResult {
  exitCode: number;
  target?: Target;
  build?: BuildResult;
  load?: LoadResult;
  problems: Problem[];
  /** One-line outcome. */
  summary: string;
  /** What was thrown, when the loop stopped on an exception (the editor tells its cause's fix). */
  error?: unknown;
  durationMs: number;
}

export async function runLoop(localDir: string, config: TargetConfig | undefined, options: LoopOptions): Promise<LoopResult> {
  const began = Date.now();
  const absDir = path.resolve(localDir);
  const done = (partial: Omit<LoopResult, 'durationMs'>): LoopResult => ({ ...partial, durationMs: Date.now() - began });
  let target = options.target;
  try {
    listSources(absDir); // not a module folder: a usage error before any target is asked
    let built: BuildResult;
    if (!target && !config) {
      // A user of the test VM from the start: a run that boots it meanwhile waits for this one.
      markGuestUse(options.guestName);
      // The test VM's modules build on this machine: build (and check parameters) before booting,
      // so a compile error or a bad parameter never waits for a guest.
      const kdir = await step('find kernel headers', TEST_VM_TARGET, options, async () => kernelBuildDir(await guestKernelVersion()));
      built = await step('build', TEST_VM_TARGET, options, () => buildLocally(kdir, absDir, options));
      if (built.ok) checkSelection(built.modules, options);
      if (built.ok) target = await openTarget(config, absDir, { ...options, holdGuest: true });
    } else {
      target ??= await openTarget(config, absDir, { ...options, holdGuest: true });
      built = await build(target, absDir, options);
    }
    if (!built.ok || !target) {
      return done({ exitCode: EXIT.buildFailed, target, build: built, problems: built.problems, summary: `build failed (${built.problems.filter((p) => p.severity === 'error').length} error(s))` });
    }
    const modules = selectModules(built.modules, options.modules);
    const loadOptions = { ...options, params: paramsOf(modules, built.modules, options.params) };
    await uploadModules(target, modules, options);
    let loaded = await loadModules(target, 'reload', modules, loadOptions);
    if (!loaded.ok && loaded.failedStep === 'rmmod' && target.kind === 'test-vm') {
      // A module that crashed in init stays "Loading" forever: only a fresh guest can load it again.
      options.output?.(`${loaded.messages.trim()}\nThe old module cannot be unloaded (stuck after an earlier crash): restarting the test VM.\n`);
      await target.connection.close();
      const guest = await restartGuest({ name: options.guestName, signal: options.signal, log: (l) => options.output?.(`${l}\n`) });
      target = { ...target, guest, connection: guestConnection(guest) };
      await target.connection.open(options.signal);
      await uploadModules(target, modules, options);
      loaded = await loadModules(target, 'reload', modules, loadOptions);
    }
    const problems = [...built.problems, ...loaded.problems];
    const names = modules.map((m) => m.name).join(', ');
    if (loaded.ok) return done({ exitCode: EXIT.loaded, target, build: built, load: loaded, problems, summary: `${names} loaded on ${target.name}` });
    const kernelError = loaded.problems.find((p) => p.crash);
    if (kernelError) return done({ exitCode: EXIT.kernelError, target, build: built, load: loaded, problems, summary: `kernel error while loading ${names}: ${kernelError.message}` });
    return done({ exitCode: EXIT.loadFailed, target, build: built, load: loaded, problems, summary: `loading ${loaded.failedModule ?? names} failed: ${loaded.problems[0]?.message ?? loaded.messages.trim()}` });
  } catch (error) {
    if (error instanceof CancelledError) return done({ exitCode: EXIT.cancelled, target, problems: [], summary: 'cancelled' });
    const message = error instanceof Error ? error.message : String(error);
    return done({ exitCode: exitCodeOf(error), target, problems: [], summary: message, error });
  } finally {
    releaseGuestUse(target?.guest?.name ?? options.guestName);
  }
}

/** The module names and parameters refused before a guest boots for them. */
function checkSelection(all: BuiltModule[], options: LoopOptions): void {
  const selected = selectModules(all, options.modules);
  insmodArguments(selected, paramsOf(selected, all, options.params));
}

/**
 * The parameters for the selected modules: those of the folder's other modules (lkm.moduleParams)
 * do not apply to this load; those of modules the folder does not build stay, to be refused.
 */
export function paramsOf(selected: BuiltModule[], all: BuiltModule[], params: Record<string, ParamValue[]> = {}): Record<string, ParamValue[]> {
  const skipped = (name: string) => all.some((m) => m.name === name) && !selected.some((m) => m.name === name);
  return Object.fromEntries(Object.entries(params).filter(([name]) => !skipped(name)));
}

/**
 * The documented exit code for an error that ended a command: a step on the target (connect, sync,
 * build, load, their timeouts) 5, a bad parameter 3, cancelled 130, anything about how lkm was
 * called or configured (settings, unknown target, not a module folder) 2.
 */
export function exitCodeOf(error: unknown): number {
  if (error instanceof CancelledError) return EXIT.cancelled;
  if (error instanceof ParamError) return EXIT.loadFailed;
  if (error instanceof StepError) return EXIT.targetError;
  return EXIT.usage;
}

/** Problems as terminal lines: `file:line:col: severity: message`, kernel reports with their frames. */
export function formatProblems(problems: Problem[], cwd?: string): string[] {
  const lines: string[] = [];
  for (const p of problems) {
    lines.push(formatProblem(p, cwd));
    for (const f of p.frames ?? []) {
      if (f.file) lines.push(`    ${cwd ? relativePath(f.file, cwd) : f.file}:${f.line}: ${f.raw}${f.reliable ? '' : ' (unreliable)'}`);
    }
  }
  return lines;
}
