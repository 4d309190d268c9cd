// `lkm-lint [--kdir DIR] [--format text|json|sarif] PATH...`: the language server's analysis for CI.
// Exit 0 when nothing is at error severity, 1 when something is, 2 on a usage error.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadKernelTarget, resolveKdir, type KernelTarget } from '../analysis/kernelTarget';
import { discoverModules, fileIsBuilt, isBuiltIn, linkage, type ModuleSpec } from '../analysis/kbuild';
import type { Finding } from '../analysis/model';
import { Analyzer, TextWorkspaceIndex, type LintSettings, type SeveritySetting } from '../engine';
import { RULES } from '../rules';
import { formatSarif, formatText, toJson, type OutputFormat } from './format';
import { lintModuleFromDisk, type ModuleResult } from './lintRun';
import type { WorkerInit, WorkerRequest, WorkspaceEntries } from './lintWorker';
import { FileRefused, findSources, isModuleSource, kindOf, MAX_FILE_BYTES, readTextIfPresent, realPath } from '../sources';
import { isKernelSource, kbuildViewOf } from '../analysis/sourceKind';

const VERSION = '0.1.0';

class UsageError extends Error {}

/**
 * Every module source under the given files and folders (recursively, skipping hidden and build
 * folders), each real file once; `.c` names that are not regular files go to `skipped`, with why.
 */
export function collectSources(inputs: string[], skipped: FileRefused[] = []): string[] {
  const files: string[] = [];
  for (const input of inputs) {
    if (!fs.existsSync(input)) throw new UsageError(`no such file or folder: ${input}`);
    const stat = fs.statSync(input);
    if (stat.isFile() && !input.endsWith('.c')) throw new UsageError(`not a C source file: ${input}`);
    if (stat.isDirectory()) files.push(...findSources(path.resolve(input), { skipped }));
    else if (!stat.isFile()) skipped.push(new FileRefused(path.resolve(input), `not a regular file (${kindOf(stat)})`));
    else if (isModuleSource(input)) files.push(path.resolve(input));
  }
  // Overlapping inputs (a folder and a file in it, a link to a folder) name a file more than once.
  const seen = new Set<string>();
  return files.filter((file) => {
    const real = realPath(file) ?? file;
    if (seen.has(real)) return false;
    seen.add(real);
    return true;
  });
}

function parseSeverity(value: string, previous: Record<string, SeveritySetting> = {}): Record<string, SeveritySetting> {
  const match = /^([a-z-]+)=(error|warning|info|hint|off)$/.exec(value);
  if (!match || !RULES.some((r) => r.id === match[1])) {
    throw new InvalidArgumentError(`expected RULE=error|warning|info|hint|off with RULE one of ${RULES.map((r) => r.id).join(', ')}`);
  }
  return { ...previous, [match[1]!]: match[2] as SeveritySetting };
}

interface Options {
  kdir?: string | false;
  format: OutputFormat;
  jobs: number;
  severity?: Record<string, SeveritySetting>;
}

/**
 * Worker threads for `jobs - 1` of the jobs (the main thread is the last one): started before the
 * modules are known, so that their parser and kdir load while the main thread discovers the modules.
 */
function startWorkers(count: number, init: WorkerInit): Worker[] {
  const bundled = __filename.endsWith('.js');
  const script = bundled ? path.join(__dirname, 'lint-worker.js') : path.join(__dirname, 'lintWorker.ts');
  return Array.from({ length: count }, () => {
    const worker = new Worker(script, { workerData: init, execArgv: bundled ? [] : ['--import', 'tsx'] });
    // Until lintEverywhere listens: a worker that fails early (a bad --kdir) fails the run there, or not at all if the main thread's load failed first.
    worker.on('error', (error) => earlyFailures.set(worker, error));
    return worker;
  });
}

const earlyFailures = new WeakMap<Worker, Error>();

/**
 * Lints the modules in the workers and in this thread, largest first (the queue is sorted so). This
 * thread hears from the workers only between two of its own modules: before it starts one, it sends
 * each worker, from the small end of the queue, at least as many files as that module has, so that no
 * worker runs dry meanwhile; a worker that did runs dry takes the next largest module.
 */
async function lintEverywhere(modules: ModuleSpec[], workers: Worker[], workspace: WorkspaceEntries, lintHere: (module: ModuleSpec) => ModuleResult, onResult: (r: ModuleResult) => void): Promise<void> {
  const queue = [...modules].sort((a, b) => b.files.length - a.files.length);
  /** Files sent to each worker and not yet linted. */
  const pending = new Map<Worker, number[]>(workers.map((worker) => [worker, []]));
  const send = (worker: Worker, module: ModuleSpec | undefined) => {
    if (!module) return;
    pending.get(worker)!.push(module.files.length);
    worker.postMessage({ module } satisfies WorkerRequest);
  };
  const finished = workers.map((worker) => new Promise<void>((resolve, reject) => {
    const early = earlyFailures.get(worker);
    if (early) return reject(early);
    worker.on('message', (result: ModuleResult) => {
      pending.get(worker)!.shift();
      onResult(result);
      if (pending.get(worker)!.length === 0) send(worker, queue.shift());
      if (pending.get(worker)!.length === 0) worker.postMessage(null satisfies WorkerRequest);
    });
    worker.on('error', reject);
    worker.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`lint worker exited with code ${code}`))));
    worker.postMessage({ workspace } satisfies WorkerRequest);
    send(worker, queue.shift());
    if (pending.get(worker)!.length === 0) worker.postMessage(null satisfies WorkerRequest);
  }));
  for (let module = queue.shift(); module; module = queue.shift()) {
    for (const worker of workers) {
      const queued = () => pending.get(worker)!.reduce((sum, files) => sum + files, 0);
      while (queue.length > 0 && pending.get(worker)!.length > 0 && queued() < module.files.length) send(worker, queue.pop());
    }
    onResult(lintHere(module));
    // Lets the workers' results in, and so their next modules out.
    await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(finished);
}

/**
 * Prints a file that was not read (not a regular file, too large) once, the way lint problems are
 * printed; not the sources to lint, whose refusals the lint reports.
 */
function refusalReporter(sources: string[]): (refusal: FileRefused) => void {
  const told = new Set<string>(sources);
  return (refusal) => {
    if (told.has(refusal.file)) return;
    told.add(refusal.file);
    process.stderr.write(`${path.relative(process.cwd(), refusal.file)}: not read: ${refusal.reason}\n`);
  };
}

async function run(inputs: string[], options: Options): Promise<number> {
  const skipped: FileRefused[] = [];
  const files = collectSources(inputs, skipped);
  const refused = refusalReporter(files);
  for (const refusal of skipped) refused(refusal);
  if (files.length === 0) throw new UsageError(`no .c files under ${inputs.join(', ')}`);
  const kdir = options.kdir === false ? undefined : resolveKdir({ explicit: options.kdir }).kdir;
  const settings: LintSettings = { severity: options.severity };
  const workers = options.jobs > 1 && files.length >= MIN_FILES_FOR_WORKERS ? startWorkers(options.jobs - 1, { kdir, settings }) : [];
  try {
    const target = loadTarget(kdir);
    // Kbuild files, Makefiles and their includes that are not regular files (a FIFO, /dev/zero) are named, not read.
    const modules = discoverModules(files, (file) => readTextIfPresent(file, MAX_FILE_BYTES, refused), target?.config);
    const workspace = workspaceOf(modules, target);
    const outcome: LintOutcome = { findings: [], notKernel: 0 };
    const analyzer = await Analyzer.create();
    const lintHere = (module: ModuleSpec) => lintModuleFromDisk(analyzer, module, target, workspace, settings);
    await lintEverywhere(modules, workers, workspace.entries(), lintHere, progressReporter(files.length, outcome));
    report(outcome, options.format, `${files.length} file(s)`, `${modules.length} module(s)${target ? ` against ${target.release ?? target.kdir}` : ''}`);
    return outcome.findings.some((f) => f.severity === 'error') ? 1 : 0;
  } finally {
    // After a failure (a bad --kdir) they would keep the process alive.
    for (const worker of workers) void worker.terminate();
  }
}

/** Fewer files than this are linted by the main thread alone: a worker's start-up would cost more. */
const MIN_FILES_FOR_WORKERS = 8;

function loadTarget(kdir: string | undefined): KernelTarget | undefined {
  if (!kdir) {
    process.stderr.write('lkm-lint: no kernel build dir (--kdir, or /lib/modules/$(uname -r)/build): exports of the target kernel were not checked.\n');
    return undefined;
  }
  let target: KernelTarget;
  try {
    target = loadKernelTarget(kdir);
  } catch (error) {
    throw new UsageError(`cannot use --kdir ${kdir}: ${(error as Error).message}`);
  }
  if (target.exportsUnchecked) process.stderr.write(`lkm-lint: ${target.exportsUnchecked}.\n`);
  return target;
}

/** The non-static definitions of every module the target builds (for unexported-symbol across modules). */
function workspaceOf(modules: ModuleSpec[], target: KernelTarget | undefined): TextWorkspaceIndex {
  const workspace = new TextWorkspaceIndex();
  for (const module of modules) {
    // Code the target does not build defines nothing other modules could link against.
    if (linkage(module, target?.config) === 'absent') continue;
    for (const file of module.files) {
      if (!fileIsBuilt(module, file, target?.config)) continue;
      // Unreadable and refused files are reported when linted.
      const text = readTextIfPresent(file, MAX_FILE_BYTES, undefined, 'latin1');
      if (text !== undefined && isKernelSource(file, text, kbuildViewOf(module))) workspace.addModuleFile(module.name, file, text, isBuiltIn(module, target?.config));
    }
  }
  return workspace;
}

interface LintOutcome {
  findings: Finding[];
  notKernel: number;
}

/** Collects each module's result into `outcome`, printing its problems, and the progress on a terminal. */
function progressReporter(fileCount: number, outcome: LintOutcome): (result: ModuleResult) => void {
  let done = 0;
  const progress = process.stderr.isTTY && fileCount > 50;
  return (result) => {
    outcome.findings.push(...result.findings);
    outcome.notKernel += result.notKernel;
    for (const problem of result.problems) process.stderr.write(`${progress ? '\r\x1b[K' : ''}${path.relative(process.cwd(), problem.file)}: ${problem.message}\n`);
    done += result.files + result.problems.length + result.notKernel;
    if (progress) process.stderr.write(done < fileCount ? `\r\x1b[Klkm-lint: ${done}/${fileCount} files` : '\r\x1b[K');
  };
}

function report(outcome: LintOutcome, format: OutputFormat, files: string, modules: string): void {
  const findings = outcome.findings;
  findings.sort((a, b) => a.file.localeCompare(b.file) || a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);
  const cwd = process.cwd();
  if (format === 'json') process.stdout.write(`${JSON.stringify(findings.map((f) => toJson(f, cwd)), null, 2)}\n`);
  else if (format === 'sarif') process.stdout.write(`${JSON.stringify(formatSarif(findings, cwd, VERSION), null, 2)}\n`);
  else if (findings.length > 0) process.stdout.write(`${formatText(findings, cwd)}\n`);
  if (format === 'text') {
    const skipped = outcome.notKernel > 0 ? ` (${outcome.notKernel} not kernel code, not linted)` : '';
    process.stderr.write(`lkm-lint: ${findings.length} finding(s) in ${files}${skipped}, ${modules}.\n`);
  }
}

export function main(argv: string[]): void {
  const program = new Command('lkm-lint')
    .description('Kernel-aware lint of Linux kernel module C: sleeping in atomic context, lock imbalance, MODULE_LICENSE, unexported symbols.')
    .version(VERSION)
    .argument('<paths...>', '.c files or folders (recursive)')
    .option('--kdir <dir>', 'kernel build dir of the target (Module.symvers, headers); default /lib/modules/$(uname -r)/build when present')
    .option('--no-kdir', 'do not check against a kernel build dir')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'sarif']).default('text'))
    .option('-j, --jobs <n>', 'worker threads', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
      return n;
    }, os.availableParallelism())
    .option('--severity <rule=level>', 'override a rule\'s severity (repeatable)', parseSeverity)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  try {
    program.parse(argv);
  } catch (error) {
    const code = (error as { exitCode?: number }).exitCode;
    process.exit(code === 0 ? 0 : 2);
  }
  // exitCode, not exit(): a piped stdout must drain before the process ends.
  run(program.args, program.opts<Options>()).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      if (error instanceof UsageError) {
        process.stderr.write(`lkm-lint: ${error.message}\n`);
        process.exitCode = 2;
        return;
      }
      process.stderr.write(`lkm-lint: internal error: ${(error as Error).stack ?? error}\n`);
      process.exitCode = 3;
    },
  );
}

if (require.main === module) main(process.argv);
